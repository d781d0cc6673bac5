import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isAppError } from '../errors.ts';
import { exportPublicKey, signingKeyFromPrivate } from './signing-key.ts';
import { openRevocationList, revokedSince, signRevocationList, REVOCATIONS_FORMAT, type RevocationPayload } from './revocation-list.ts';

/** The revocation list format without a server (test/integration/offline-revocations.test.ts has the server side). */
const key = signingKeyFromPrivate(generateKeyPairSync('ed25519').privateKey);
const rotated = signingKeyFromPrivate(generateKeyPairSync('ed25519').privateKey);
const CLIENT = randomUUID();
const USER = randomUUID();
const T = '2026-01-10T12:00:00.000Z';

const payload = (signer = key): RevocationPayload => ({
  v: 1,
  key_id: signer.keyId,
  client_id: CLIENT,
  issued_at: '2026-01-11T00:00:00.000Z',
  covers_since: '2025-10-13T00:00:00.000Z',
  revocations: [{ user_id: USER, revoked_before: T }],
});
const code = (c: string) => (e: unknown) => isAppError(e) && e.code === c;

test('a package issued before revoked_before is recalled; one issued at or after it is not; other users are not', () => {
  const list = openRevocationList(JSON.stringify(signRevocationList(payload(), key.privateKey)), exportPublicKey(key).pem, CLIENT);
  assert.equal(revokedSince(list, { user: { id: USER }, issued_at: '2026-01-10T11:59:59.999Z' }), T);
  assert.equal(revokedSince(list, { user: { id: USER }, issued_at: T }), null);
  assert.equal(revokedSince(list, { user: { id: randomUUID() }, issued_at: '2025-12-01T00:00:00.000Z' }), null);
});

test('during a key rotation the list’s key_id picks the key; a key the device does not hold is OFFLINE_SIGNATURE_INVALID', () => {
  const signed = signRevocationList(payload(rotated), rotated.privateKey);
  const both = [exportPublicKey(key).pem, exportPublicKey(rotated).pem];
  assert.equal(openRevocationList(signed, both, CLIENT).revokedBefore.size, 1);
  assert.throws(() => openRevocationList(signed, exportPublicKey(key).pem, CLIENT), code('OFFLINE_SIGNATURE_INVALID'));
});

test('a list under another format name, or another tenant’s list, is refused', () => {
  const signed = signRevocationList(payload(), key.privateKey);
  assert.throws(() => openRevocationList({ ...signed, format: 'wajah.offline-package.v1' }, exportPublicKey(key).pem, CLIENT), code('OFFLINE_PACKAGE_INVALID'));
  assert.equal(signed.format, REVOCATIONS_FORMAT);
  const wrongTenant = signRevocationList({ ...payload(), client_id: randomUUID() }, key.privateKey);
  assert.throws(() => openRevocationList(wrongTenant, exportPublicKey(key).pem, CLIENT), code('OFFLINE_CLIENT_MISMATCH'));
});
