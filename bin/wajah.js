#!/usr/bin/env node
// `npx wajah …`: runs the TypeScript CLI (src/cli/main.ts) through tsx, resolved from this package,
// so it works from any working directory without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
