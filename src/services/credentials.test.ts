import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateApiKey, generateSecret, hashSecret, parseApiKeyHeader, secretMatches, tokensEqual } from './credentials.ts';

test('ApiKey header parsing', () => {
  assert.deepEqual(parseApiKeyHeader('ApiKey wk_abc:wsk_x-y_z'), { key: 'wk_abc', secret: 'wsk_x-y_z' });
  assert.deepEqual(parseApiKeyHeader('apikey k:s:with:colons'), { key: 'k', secret: 's:with:colons' });
  for (const bad of [undefined, '', 'ApiKey', 'ApiKey k', 'ApiKey k:', 'ApiKey :s', 'Bearer k:s', 'ApiKey k:s extra']) {
    assert.equal(parseApiKeyHeader(bad), null, String(bad));
  }
});

test('secrets: only the hash is kept; comparison works and rejects near misses', () => {
  const secret = generateSecret();
  const hash = hashSecret(secret);
  assert.ok(!hash.includes(secret));
  assert.equal(secretMatches(secret, hash), true);
  assert.equal(secretMatches(`${secret}x`, hash), false);
  assert.equal(secretMatches(secret, 'sha256$short'), false);
  assert.notEqual(generateApiKey(), generateApiKey());
  assert.equal(tokensEqual('a'.repeat(20), 'a'.repeat(20)), true);
  assert.equal(tokensEqual('a'.repeat(20), 'a'.repeat(21)), false);
});
