import type { Container } from '../../container.ts';
import { visionCalibration } from '../face.ts';
import { CompreFaceCollection } from './collection.service.ts';
import { createCompreFaceKeys, type CompreFaceKeysService } from './keys.service.ts';
import { CompreFaceRecognition } from './recognition.service.ts';

/** The services behind the CompreFace-compatible API (docs/compreface.md), built on the container's. */
export interface CompreFaceServices {
  keys: CompreFaceKeysService;
  collection: CompreFaceCollection;
  recognition: CompreFaceRecognition;
}

export function createCompreFaceServices(c: Container): CompreFaceServices {
  const db = c.database.db;
  const { foundation, face } = c;
  return {
    keys: createCompreFaceKeys(db, foundation),
    collection: new CompreFaceCollection({ db, users: foundation.users, enrollment: face.enrollment, gallery: face.gallery, vault: face.vault, engine: c.engine, audit: foundation.audit }),
    recognition: new CompreFaceRecognition({ db, engine: c.engine, gallery: face.gallery, vault: face.vault, calibration: visionCalibration, monitor: foundation.security }),
  };
}
