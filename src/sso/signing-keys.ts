import crypto from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type { DB } from '../db/database.ts';
import { deleteSigningKeys, findSigningKeys, insertSsoKeyIfAbsent, listSigningKeyAges } from '../db/repositories/sso.repository.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * How long a new signing key is published before it signs ("publish first, sign later"). Every instance
 * re-reads the key schedule at most KEY_CHECK_INTERVAL_MS before serving a provider request, so by the time
 * any instance signs with the new key, every instance has published it for at least 90 s.
 */
export const SIGNING_LEAD_SECONDS = 120;
/** How stale an instance's key schedule may be when it serves a provider request. */
export const KEY_CHECK_INTERVAL_MS = 30_000;

/** A private RS256 JWK as the provider takes it (`kid`, `alg`, `use` set). */
export type SigningJwk = Record<string, unknown> & { kid: string };

export interface SigningSchedule {
  /** The row that signs: the newest one published for SIGNING_LEAD_SECONDS (the only one, at first). */
  signer: string;
  /** Newer rows, published but not signing yet, with the seconds until they sign. */
  pending: Array<{ id: string; signsIn: number }>;
  /** Older rows, replaced but still published for the tokens they signed, with the seconds left. */
  retiring: Array<{ id: string; publishedFor: number }>;
  /** Older rows past their grace period: unpublished (and deleted). */
  expired: string[];
  /** Every published row, the signer first (the provider signs with the first key of its key set). */
  published: string[];
}

/**
 * Which key signs and which are published, from the rows' ages (seconds, by the database's clock, oldest
 * first). A row replaced by its successor at time T (the successor's creation + the lead) stays published
 * until T + `graceSeconds`, which covers every token it signed (the longest-lived, an ID token, plus the
 * lag of an instance that has not re-read the schedule yet).
 *
 * @example signingSchedule([{ id: 'a', age: 4000 }, { id: 'b', age: 300 }], 4200) // → signer 'b', retiring [{ id: 'a', publishedFor: 4020 }]
 */
export function signingSchedule(rows: ReadonlyArray<{ id: string; age: number }>, graceSeconds: number, leadSeconds = SIGNING_LEAD_SECONDS): SigningSchedule | null {
  if (!rows.length) return null;
  let s = 0;
  for (let i = 1; i < rows.length; i++) if (rows[i]!.age >= leadSeconds) s = i;
  const retiring: SigningSchedule['retiring'] = [];
  const expired: string[] = [];
  for (let i = 0; i < s; i++) {
    // Its successor (eligible, as every row up to the signer) took over this long ago.
    const since = rows[i + 1]!.age - leadSeconds;
    if (since >= graceSeconds) expired.push(rows[i]!.id);
    else retiring.push({ id: rows[i]!.id, publishedFor: Math.ceil(graceSeconds - since) });
  }
  const pending = rows.slice(s + 1).map((r) => ({ id: r.id, signsIn: Math.max(0, Math.ceil(leadSeconds - r.age)) }));
  const signer = rows[s]!.id;
  return { signer, pending, retiring, expired, published: [signer, ...pending.map((p) => p.id), ...retiring.map((r) => r.id)] };
}

const aad = (id: string) => `sso-key:signing:${id}`;

export async function generateSigningJwk(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  return { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: crypto.randomBytes(8).toString('base64url') };
}

export interface SigningKeySet {
  schedule: SigningSchedule;
  /** The published keys (private JWKs), in `schedule.published` order: the signer first. */
  keys: SigningJwk[];
  /** Changes when the signer or the published set does: an instance rebuilds its provider then. */
  version: string;
}

/**
 * The key set to serve now. Generates the first key when there is none (row id `primary`; the first
 * instance to start wins, the others read its key), and deletes keys past their grace period.
 * Throws when a published key does not open (sealed under another master key).
 */
export async function readSigningKeySet(db: DB, box: SecretBox, graceSeconds: number): Promise<SigningKeySet> {
  let schedule = signingSchedule(await listSigningKeyAges(db), graceSeconds);
  if (!schedule) {
    await insertSsoKeyIfAbsent(db, 'signing', 'primary', box.seal(JSON.stringify(await generateSigningJwk()), aad('primary')));
    schedule = signingSchedule(await listSigningKeyAges(db), graceSeconds)!;
  }
  if (schedule.expired.length) await deleteSigningKeys(db, schedule.expired);
  const rows = new Map((await findSigningKeys(db, schedule.published)).map((r) => [r.id, r.ciphertext]));
  const keys = schedule.published.map((id) => {
    const sealed = rows.get(id);
    if (!sealed) throw new Error(`SSO signing key ${id} vanished while being read`);
    return JSON.parse(box.open(sealed, aad(id)).toString('utf8')) as SigningJwk;
  });
  return { schedule, keys, version: keys.map((k) => k.kid).join(',') };
}

export interface SigningKeyView {
  kid: string;
  status: 'signing' | 'pending' | 'retiring';
  /** pending: seconds until it signs; retiring: seconds it stays published. */
  seconds: number | null;
}

/** The published keys and what each does now (`wajah sso signing-keys`). */
export async function describeSigningKeys(db: DB, box: SecretBox, graceSeconds: number): Promise<SigningKeyView[]> {
  const { schedule, keys } = await readSigningKeySet(db, box, graceSeconds);
  const kid = new Map(schedule.published.map((id, i) => [id, keys[i]!.kid]));
  return [
    ...schedule.pending.map((p) => ({ kid: kid.get(p.id)!, status: 'pending' as const, seconds: p.signsIn })),
    { kid: kid.get(schedule.signer)!, status: 'signing' as const, seconds: null },
    ...schedule.retiring.map((r) => ({ kid: kid.get(r.id)!, status: 'retiring' as const, seconds: r.publishedFor })),
  ];
}

export interface RotationOutcome {
  /** The new key: published now, signs in `signs_in` seconds. */
  kid: string;
  signs_in: number;
  /** The key it replaces, published `published_for` seconds more (its tokens keep verifying). */
  replaces: { kid: string; published_for: number } | null;
  /** Every published key after the rotation. */
  keys: SigningKeyView[];
}

/**
 * Adds a new signing key (`wajah sso rotate-signing-key`): every instance publishes it within
 * KEY_CHECK_INTERVAL_MS, all of them sign with it SIGNING_LEAD_SECONDS after now, and the key it replaces stays
 * published `graceSeconds` longer, then is removed. Refuses (before writing anything) when this master key does
 * not open the current keys: a key sealed under another master key would be unreadable to the instances.
 */
export async function rotateSigningKey(db: DB, box: SecretBox, graceSeconds: number): Promise<RotationOutcome> {
  const before = await readSigningKeySet(db, box, graceSeconds);
  const current = before.keys[0]!.kid;
  const jwk = await generateSigningJwk();
  await insertSsoKeyIfAbsent(db, 'signing', jwk.kid, box.seal(JSON.stringify(jwk), aad(jwk.kid)));
  const keys = await describeSigningKeys(db, box, graceSeconds);
  const mine = keys.find((k) => k.kid === jwk.kid)!;
  return {
    kid: jwk.kid,
    signs_in: mine.seconds ?? 0,
    replaces: mine.status === 'signing' ? null : { kid: current, published_for: (mine.seconds ?? 0) + graceSeconds },
    keys,
  };
}
