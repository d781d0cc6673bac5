// Bootstrap for the TypeScript worker: in Node 20 a worker's entry file is resolved before the tsx
// loader from --import is active there, so register tsx explicitly, then load the real worker.
import { register } from 'tsx/esm/api';

register();
await import('./inference.worker.ts');
