import type { Core } from '../container.ts';
import type { FoundationServices } from './foundation.ts';

/** Services of the face layer: enrollment, authentication, liveness, templates, search. */
export interface FaceServices {
  close?(): Promise<void>;
}

export async function createFaceServices(_core: Core, _foundation: FoundationServices): Promise<FaceServices> {
  return {};
}
