import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isAppError } from '../errors.ts';
import { exportPublicKey, signingKeyFromPrivate } from './signing-key.ts';
import { assertRevocationsFresh, openRevocationList, parseMaxAge, revokedSince, signRevocationList, REVOCATIONS_FORMAT, type RevocationPayload } from './revocation-list.ts';

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

// A device that stops receiving lists (kept off the network, a broken sync) must learn that its list is old.
test('a list issued longer ago than the device’s maximum age, or none, is OFFLINE_REVOCATIONS_STALE; a younger one passes', () => {
  const list = openRevocationList(signRevocationList(payload(), key.privateKey), exportPublicKey(key).pem, CLIENT);
  const day = 86_400;
  const at = (s: number) => new Date(Date.parse(payload().issued_at) + s * 1000);
  assert.doesNotThrow(() => assertRevocationsFresh(list, day, at(day)));
  assert.doesNotThrow(() => assertRevocationsFresh(list, day, at(-3600)), 'a device clock behind the server');
  assert.throws(
    () => assertRevocationsFresh(list, day, at(day + 1)),
    (e: unknown) => code('OFFLINE_REVOCATIONS_STALE')(e) && JSON.stringify((e as { details: unknown }).details) === JSON.stringify({ issued_at: payload().issued_at, age_s: day + 1, max_age_s: day }),
  );
  assert.throws(() => assertRevocationsFresh(null, day, at(0)), code('OFFLINE_REVOCATIONS_STALE'));
  for (const bad of [0, -1, NaN, Infinity]) assert.throws(() => assertRevocationsFresh(list, bad, at(0)), code('VALIDATION_ERROR'));
});

test('maximum ages: seconds or a number with a unit', () => {
  assert.deepEqual(['3600', '90s', '30m', '12h', '7d', '2w', '1.5h'].map(parseMaxAge), [3600, 90, 1800, 43_200, 604_800, 1_209_600, 5400]);
  for (const bad of ['', '0', '-1', '7 days', 'd', '1y', 'Infinity', '1e3']) assert.throws(() => parseMaxAge(bad), code('VALIDATION_ERROR'), bad);
});
