import type { Core } from '../container.ts';

/** Services of the platform layer: clients, keys, users, rate limits, audit (owned by the foundation work). */
export interface FoundationServices {
  close?(): Promise<void>;
}

export async function createFoundationServices(_core: Core): Promise<FoundationServices> {
  return {};
}
