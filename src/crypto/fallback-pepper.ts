import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { getInstanceSetting } from '../db/repositories/instance-settings.repository.ts';
import { SealingKey } from './sealing-key.ts';

/**
 * The pepper of the PIN/password hashes (services/fallback-hasher.ts). Hashes cannot be re-sealed
 * (the secrets are unknown), so the pepper must outlive a master-key rotation: until the first
 * rotation it is derived from the master key; a rotation stores the pepper in use, sealed under the
 * new key, in `instance_settings.fallback_pepper`, and from then on that stored pepper is used.
 *
 * @example const hasher = new SecretHasher(await loadFallbackPepper(db, masterKey));
 */
export const FALLBACK_PEPPER_SETTING = 'fallback_pepper';
const AAD = 'instance-setting:fallback_pepper';

export function derivedFallbackPepper(masterKey: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), 'wajah:fallback-pepper:v1', 32));
}

const box = (masterKey: Buffer) => new SealingKey(masterKey, 'wajah:instance-secret:v1');

export function sealFallbackPepper(masterKey: Buffer, pepper: Buffer): string {
  return box(masterKey).seal(pepper, AAD).toString('base64');
}

/** The stored pepper opened with `masterKey`, or the one derived from it when none is stored. Throws when the key does not open it. */
export function openFallbackPepper(masterKey: Buffer, stored: string | null): Buffer {
  return stored ? box(masterKey).open(Buffer.from(stored, 'base64'), AAD) : derivedFallbackPepper(masterKey);
}

export async function loadFallbackPepper(db: Kysely<Database>, masterKey: Buffer): Promise<Buffer> {
  return openFallbackPepper(masterKey, await getInstanceSetting(db, FALLBACK_PEPPER_SETTING));
}
