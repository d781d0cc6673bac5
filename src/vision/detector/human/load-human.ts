import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Human's Node build for tfjs-backend-wasm (tfjs-node cannot install here). The package's export map
 * does not expose this file under a valid subpath, so it is required by absolute path.
 */
const require = createRequire(import.meta.url);
export const NODE_MODULES = path.resolve(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), '../..');
export const HUMAN_MODELS_DIR = path.join(NODE_MODULES, '@vladmandic/human/models');
export const WASM_DIR = path.join(NODE_MODULES, '@tensorflow/tfjs-backend-wasm/dist') + path.sep;

/* eslint-disable @typescript-eslint/no-explicit-any -- Human ships no usable types for its Node build */
export type HumanLib = { Human: new (config: Record<string, unknown>) => any };

export function requireHuman(): HumanLib {
  return require(path.join(NODE_MODULES, '@vladmandic/human/dist/human.node-wasm.js')) as HumanLib;
}

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  weightsManifest: Array<{ paths: string[]; weights: unknown[] }>;
}

let routerInstalled = false;

/**
 * Register a tfjs IO router for `file://` URLs: models are read from disk, never fetched. Pure tfjs-core
 * has no file system handler (that lives in tfjs-node).
 */
export function installFileRouter(tf: any): void {
  if (routerInstalled) return;
  routerInstalled = true;
  tf.io.registerLoadRouter((url: string | string[]) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const file = url.slice('file://'.length);
    return {
      load: async () => {
        const json = JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
        const dir = path.dirname(file);
        const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
        const all = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p)))));
        const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
        return { ...json, weightsManifest: undefined, weightSpecs, weightData };
      },
    };
  });
}
