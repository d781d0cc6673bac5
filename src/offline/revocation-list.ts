import type { KeyObject } from 'node:crypto';
import { appError } from '../errors.ts';
import { isObject, openSignedEnvelope, parseSignedEnvelope, signEnvelope, type EnvelopeKind, type SignedEnvelope } from './signed-envelope.ts';
import { importPublicKey, publicKeyId } from './signing-key.ts';

/**
 * The signed offline revocation list (docs/offline.md, "Recall"): a tenant's recalled users, each with the time
 * before which their packages are refused. Same wire form and key as a package (PACKAGE_FORMAT), under a format
 * name of its own so that neither can be passed off as the other:
 *
 *   { "format": "wajah.offline-revocations.v1", "key_id": "…", "payload": "<base64url(JSON)>", "signature": "<base64url>" }
 *
 * The Ed25519 signature covers the ASCII bytes `${format}.${payload}` (src/offline/signed-envelope.ts, shared with
 * packages). No database or network imports.
 *
 * @example
 *   const list = openRevocationList(fs.readFileSync('revocations.json', 'utf8'), pem, clientId);
 *   if (isRevoked(list, payload)) refuse();
 */
export const REVOCATIONS_FORMAT = 'wajah.offline-revocations.v1';

/** A recall older than the longest package lifetime only refuses packages that have expired: the list leaves it out. */
export const MAX_PACKAGE_LIFETIME_MS = 90 * 86_400_000;

export type PublicKeyInput = string | Buffer | KeyObject | Record<string, unknown>;

/** `key_id` is an unsigned hint; the signed copy is payload.key_id. */
export type SignedRevocationList = SignedEnvelope<typeof REVOCATIONS_FORMAT>;

const LIST_KIND: EnvelopeKind<typeof REVOCATIONS_FORMAT> = { format: REVOCATIONS_FORMAT, wrapper: 'list', what: 'revocation list', noun: 'list' };

export interface RevocationPayload {
  v: 1;
  key_id: string;
  client_id: string;
  /** When the server made the list: a device keeps the newest it has seen (acceptRevocationList). */
  issued_at: string;
  /** Recalls before this time are left out: every package they would refuse has expired. */
  covers_since: string;
  /** Packages of `user_id` (uuid, the package's `user.id`) issued before `revoked_before` are refused. */
  revocations: Array<{ user_id: string; revoked_before: string }>;
}

/** A checked list: its payload and the recall time of each user, in milliseconds. */
export interface RevocationList {
  payload: RevocationPayload;
  issuedAt: number;
  revokedBefore: Map<string, number>;
}

export function signRevocationList(payload: RevocationPayload, privateKey: KeyObject): SignedRevocationList {
  return signEnvelope(LIST_KIND, payload, privateKey);
}

/**
 * Checks a revocation list as a device holds it (JSON text, the object, or GET /api/offline/revocations/'s answer):
 * its shape, the signature with the device's public key (nothing in the payload is read before), then the tenant.
 * Errors: OFFLINE_PACKAGE_INVALID (not a list, bad field), OFFLINE_SIGNATURE_INVALID, OFFLINE_CLIENT_MISMATCH.
 */
export function openRevocationList(input: unknown, publicKey: PublicKeyInput | PublicKeyInput[], clientId: string): RevocationList {
  const list = parseSignedEnvelope(input, LIST_KIND);
  const payload = openSignedEnvelope(list, devicePublicKey(list.key_id, publicKey, 'revocation list'), LIST_KIND) as RevocationPayload;
  const issuedAt = isObject(payload) ? Date.parse(String(payload.issued_at)) : NaN;
  if (!isObject(payload) || payload.v !== 1 || !Number.isFinite(issuedAt) || !Array.isArray(payload.revocations)) {
    throw appError('OFFLINE_PACKAGE_INVALID', 'The revocation list payload is incomplete');
  }
  if (payload.client_id !== clientId) {
    throw appError('OFFLINE_CLIENT_MISMATCH', `The revocation list is client ${String(payload.client_id)}'s, not ${clientId}'s`, { list_client_id: payload.client_id });
  }
  const revokedBefore = new Map<string, number>();
  for (const r of payload.revocations) {
    const t = isObject(r) && typeof r.user_id === 'string' ? Date.parse(String(r.revoked_before)) : NaN;
    if (!Number.isFinite(t)) throw appError('OFFLINE_PACKAGE_INVALID', 'The revocation list has an entry without user_id or revoked_before');
    revokedBefore.set(r.user_id, Math.max(t, revokedBefore.get(r.user_id) ?? -Infinity));
  }
  return { payload, issuedAt, revokedBefore };
}

/** The time from which the package's user is recalled, when the package was issued before it; otherwise null. */
export function revokedSince(list: RevocationList, pkg: { user: { id: string }; issued_at: string }): string | null {
  const before = list.revokedBefore.get(pkg.user.id);
  if (before === undefined) return null;
  const issued = Date.parse(pkg.issued_at);
  if (!Number.isFinite(issued)) throw appError('OFFLINE_PACKAGE_INVALID', 'The package has no valid issued_at');
  return issued < before ? new Date(before).toISOString() : null;
}

/**
 * Freshness (docs/offline.md, "Recall"): refuses a list the device has gone without replacing for longer than
 * `maxAgeS` seconds, judged from its signed `issued_at` against the device clock `now`, and no list at all (null).
 * A device kept off the network, or whose sync broke, would otherwise keep honouring a recalled user's packages
 * until they expire. A list dated after `now` (a device clock running behind the server's) is fresh: the clock
 * is trusted here as it is for the packages' expiry. Errors: OFFLINE_REVOCATIONS_STALE, VALIDATION_ERROR (`maxAgeS`).
 *
 * @example assertRevocationsFresh(openRevocationList(held, pem, clientId), 86_400, new Date());
 */
export function assertRevocationsFresh(list: RevocationList | null, maxAgeS: number, now: Date): void {
  if (typeof maxAgeS !== 'number' || !Number.isFinite(maxAgeS) || maxAgeS <= 0) {
    throw appError('VALIDATION_ERROR', 'maxRevocationsAgeS must be a number of seconds above 0', { field: 'maxRevocationsAgeS' });
  }
  if (!list) {
    throw appError('OFFLINE_REVOCATIONS_STALE', `No revocation list: this device requires one issued less than ${maxAgeS} s ago`, { issued_at: null, age_s: null, max_age_s: maxAgeS });
  }
  const ageS = (now.getTime() - list.issuedAt) / 1000;
  if (ageS > maxAgeS) {
    throw appError('OFFLINE_REVOCATIONS_STALE', `The revocation list was issued at ${list.payload.issued_at}, ${Math.floor(ageS)} s ago: more than the ${maxAgeS} s this device accepts`, {
      issued_at: list.payload.issued_at,
      age_s: Math.floor(ageS),
      max_age_s: maxAgeS,
    });
  }
}

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A maximum list age as a device configures it: seconds (`3600`) or a number with a unit (`90s`, `30m`, `12h`, `7d`, `2w`). VALIDATION_ERROR otherwise. */
export function parseMaxAge(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(text);
  const seconds = m ? Number(m[1]) * AGE_UNITS[(m[2] || 's').toLowerCase()]! : NaN;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw appError('VALIDATION_ERROR', `Not a maximum age: ${JSON.stringify(text)} (seconds, or a number with s, m, h, d or w: 3600, 12h, 7d)`, { field: 'max-revocations-age' });
  }
  return seconds;
}

/**
 * Rollback protection: checks `incoming` (signature, tenant) and returns it when it is at least as new as the list
 * the device `held` (null: none yet); an older one is OFFLINE_REVOCATIONS_OUTDATED, since replaying an old list
 * would bring recalled packages back. Store the returned list in place of the held one.
 *
 * @example const next = acceptRevocationList({ held: stored, incoming: fetched, publicKey: pem, clientId }); save(next.signed);
 */
export function acceptRevocationList(o: { held: unknown; incoming: unknown; publicKey: PublicKeyInput | PublicKeyInput[]; clientId: string }): RevocationList & { signed: unknown } {
  const incoming = openRevocationList(o.incoming, o.publicKey, o.clientId);
  if (o.held !== null && o.held !== undefined) {
    const held = openRevocationList(o.held, o.publicKey, o.clientId);
    if (incoming.issuedAt < held.issuedAt) {
      throw appError('OFFLINE_REVOCATIONS_OUTDATED', `The revocation list was issued at ${incoming.payload.issued_at}, before the one held (${held.payload.issued_at})`, {
        issued_at: incoming.payload.issued_at,
        held_issued_at: held.payload.issued_at,
      });
    }
  }
  return { ...incoming, signed: o.incoming };
}

/** The device's key that signed a package or list: the only one given, or the one of its key_id among several. */
export function devicePublicKey(keyId: string, given: PublicKeyInput | PublicKeyInput[], what = 'package'): KeyObject {
  const list = Array.isArray(given) ? given : [given];
  if (!list.length) throw appError('VALIDATION_ERROR', 'publicKey is required: the public key (or keys) of the server that issues the packages', { field: 'publicKey' });
  let keys: KeyObject[];
  try {
    keys = list.map((k) => importPublicKey(k));
  } catch (e) {
    throw appError('OFFLINE_PACKAGE_INVALID', `The public key cannot be read: ${(e as Error).message}`);
  }
  if (keys.length === 1) return keys[0]!;
  const ids = keys.map(publicKeyId);
  const i = ids.indexOf(keyId);
  if (i < 0) {
    throw appError('OFFLINE_SIGNATURE_INVALID', `The ${what} names signing key ${keyId}, which is not one of this device's keys (${ids.join(', ')})`, { key_id: keyId, device_key_ids: ids });
  }
  return keys[i]!;
}
