import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { getInstanceSetting } from '../db/repositories/instance-settings.repository.ts';
import { SealingKey } from './sealing-key.ts';
import { keyCheckValue } from './key-check.ts';

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

/**
 * During an online rotation (`previousKeys` set) the pepper may still be sealed under, or derived from, a
 * previous key: the stored one opens with any key held; with none stored, the pepper is derived from the key
 * the data is recorded under (its check value), since the hashes were made with that one.
 */
export async function loadFallbackPepper(db: Kysely<Database>, masterKey: Buffer, previousKeys: readonly Buffer[] = []): Promise<Buffer> {
  const stored = await getInstanceSetting(db, FALLBACK_PEPPER_SETTING);
  if (!previousKeys.length) return openFallbackPepper(masterKey, stored);
  const keys = [masterKey, ...previousKeys];
  if (stored) return new SealingKey(masterKey, 'wajah:instance-secret:v1', previousKeys).open(Buffer.from(stored, 'base64'), AAD);
  const kcv = await getInstanceSetting(db, 'master_key_check');
  return derivedFallbackPepper(keys.find((k) => keyCheckValue(k) === kcv) ?? masterKey);
}
