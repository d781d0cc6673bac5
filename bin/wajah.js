#!/usr/bin/env node
// `npx wajah …`: the CLI (src/cli/main.ts). Node ≥ 22.18 runs the TypeScript sources as they are
// (erasable syntax only, enforced by tsconfig's erasableSyntaxOnly), so no build step and no loader.
await import('../src/cli/main.ts');
