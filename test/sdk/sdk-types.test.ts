import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SDK_TYPES_FILE, sdkTypesSource, serverOpenApiDocument } from '../../scripts/sdk-types.ts';

/**
 * The JS SDK's wire types come from the server's OpenAPI document (sdk/js/src/types.ts picks them out
 * of generated/openapi.ts). A route schema changed without `npm run sdk:types` fails here, so the SDK
 * cannot drift from the server it talks to.
 */
test('sdk/js/src/generated/openapi.ts is what the server schemas generate today (npm run sdk:types)', async () => {
  const expected = await sdkTypesSource(await serverOpenApiDocument());
  const actual = readFileSync(SDK_TYPES_FILE, 'utf8');
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const line = e.findIndex((l, i) => l !== a[i]);
  assert.fail(`stale at line ${line + 1}: has ${JSON.stringify(a[line])}, the schemas give ${JSON.stringify(e[line])}. Run npm run sdk:types`);
});

test('the generated types cover every endpoint the SDK calls, with typed answers', () => {
  const source = readFileSync(SDK_TYPES_FILE, 'utf8');
  for (const path of ['/api/v1/clients/users/{user_id}/', '/api/v1/auth/enrollment/process-frame/', '/api/v1/auth/authentication/verify/', '/api/v1/webhooks/logs/{log_id}/', '/api/v1/core/status/']) {
    assert.ok(source.includes(`"${path}": {`), path);
  }
  assert.doesNotMatch(source, /"\/api\/v1\/admin\//, 'operator endpoints stay out of the client SDK');
});
