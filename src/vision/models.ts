/** Recogniser ids. A template stores its model id; templates of different ids never compare. */
export const MODEL_FACEPLUGIN = 'faceplugin-fr-v1';
export const MODEL_DLIB = 'dlib-faceapi-v1';
export const MODEL_IDS = [MODEL_FACEPLUGIN, MODEL_DLIB] as const;
export type ModelId = (typeof MODEL_IDS)[number];
export const DEFAULT_MODEL: ModelId = MODEL_FACEPLUGIN;

export function isModelId(id: string): id is ModelId {
  return (MODEL_IDS as readonly string[]).includes(id);
}
