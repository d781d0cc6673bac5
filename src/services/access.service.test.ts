// The credential cache and revocation: a key revoked while a lookup of it was in flight must be refused
// on the next request, not kept alive for the cache's lifetime by the row that lookup read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiKeysRepository, CredentialRow } from '../db/repositories/api-keys.repository.ts';
import { AccessService } from './access.service.ts';
import { hashSecret } from './credentials.ts';
import { IpAllowlist } from './ip-allowlist.ts';
import { MemoryRateLimiter } from './rate-limit.service.ts';
import { SecurityMonitor } from './security-monitor.service.ts';

const SECRET = 'wsk_secret';

function credential(revokedAt: Date | null): CredentialRow {
  return {
    key: { id: 'k1', client_id: 'c1', key: 'wk_one', secret_hash: hashSecret(SECRET), name: 'k', ip_allowlist: [], expires_at: null, revoked_at: revokedAt, replaced_by: null, last_used_at: null, created_at: new Date() },
    client: { id: 'c1', name: 'Client', tier: 'enterprise', max_users: null, calls_per_hour: null, ip_allowlist: [], settings: {}, is_active: true },
  } as unknown as CredentialRow;
}

test('a key revoked while its lookup is in flight is refused on the next request', async () => {
  let stored = credential(null);
  const pending: Array<() => void> = [];
  // Each read takes the row as it is when the read starts and answers when released (a slow query).
  const keys = {
    findCredential: () => {
      const row = stored;
      return new Promise<CredentialRow>((resolve) => pending.push(() => resolve(row)));
    },
    touchLastUsed: async () => {},
  } as unknown as ApiKeysRepository;
  const access = new AccessService(keys, new MemoryRateLimiter(), new IpAllowlist(), new SecurityMonitor({ record: async () => {} }), { warn: () => {} });
  const header = `ApiKey wk_one:${SECRET}`;

  const inFlight = access.authorize(header, '10.0.0.1');
  // The key is revoked and the change announced (credential-changes.ts) before the read answers.
  stored = credential(new Date());
  access.invalidate();
  pending.shift()!();
  await inFlight; // began before the revocation: admitted

  const next = access.authorize(header, '10.0.0.1');
  // A fresh read is needed (the pre-revocation row was not cached); it sees the revocation.
  await new Promise((r) => setImmediate(r));
  assert.equal(pending.length, 1, 'the next request reads the database again');
  pending.shift()!();
  await assert.rejects(next, (e: { code?: string }) => e.code === 'INVALID_CREDENTIALS');
});

test('without a change the row is cached: a burst of calls costs one read', async () => {
  let reads = 0;
  const keys = { findCredential: async () => (reads++, credential(null)), touchLastUsed: async () => {} } as unknown as ApiKeysRepository;
  const access = new AccessService(keys, new MemoryRateLimiter(), new IpAllowlist(), new SecurityMonitor({ record: async () => {} }), { warn: () => {} });
  for (let i = 0; i < 5; i++) await access.authorize(`ApiKey wk_one:${SECRET}`, '10.0.0.1');
  assert.equal(reads, 1);
});
