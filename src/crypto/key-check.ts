/**
 * The master key's check value (KCV): HMAC-SHA256 of a fixed label under the key, stored with the data.
 * It identifies the key without revealing it, so a server started with another key (a wrong
 * WAJAH_MASTER_KEY, a deleted or replaced master.key) refuses to start with both fingerprints in the
 * message, instead of writing a new key beside sealed data and failing later on the first decryption.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { getInstanceSetting, holdsSealedData, putInstanceSettingOnce } from '../db/repositories/instance-settings.repository.ts';
import { appError } from '../errors.ts';
import { MASTER_KEY_FILE } from './template-cipher.ts';

const SETTING = 'master_key_check';

export function keyCheckValue(key: Buffer): string {
  return crypto.createHmac('sha256', key).update('wajah:master-key-check:v1').digest('hex').slice(0, 32);
}

/** Short form for messages: the first 12 hex digits. */
export const fingerprint = (kcv: string) => kcv.slice(0, 12);

/**
 * Before the key is loaded: a database that holds sealed data but has no key (env unset, master.key
 * missing) must not get a freshly generated one.
 */
export async function refuseNewKeyBesideData(db: Kysely<Database>, config: { masterKey: string | null; dataDir: string }): Promise<void> {
  if (config.masterKey || fs.existsSync(path.join(config.dataDir, MASTER_KEY_FILE))) return;
  const stored = await getInstanceSetting(db, SETTING);
  if (stored || (await holdsSealedData(db))) {
    throw appError(
      'MASTER_KEY_MISMATCH',
      `No master key (WAJAH_MASTER_KEY unset, ${path.join(config.dataDir, MASTER_KEY_FILE)} missing) but the database holds data sealed under key ${stored ? fingerprint(stored) : '(unknown)'}: ` +
        'restore master.key from your backup or set WAJAH_MASTER_KEY to that key. A new key would make the stored templates unreadable, so none is generated.',
      { expected: stored ? fingerprint(stored) : null },
    );
  }
}

/** After the key is loaded: the stored check value must be this key's (the first start stores it). */
export async function verifyMasterKey(
  db: Kysely<Database>,
  key: Buffer,
  stagedKey: Buffer | null = null,
  previousKeys: readonly Buffer[] = [],
): Promise<{ fingerprint: string; stored: boolean; rotating?: string }> {
  const kcv = keyCheckValue(key);
  // FOR SHARE: an online rotation recording the new key's check value holds the row; this read waits for it
  // and sees the new value, so no server starts sealing with the old key just as the rotation ends.
  const before = await getInstanceSetting(db, SETTING, { forShare: true });
  const stored = before ?? (await putInstanceSettingOnce(db, SETTING, kcv));
  // An online rotation (docs/operations-keys.md): the data is still recorded under a previous key that this
  // server also holds; it seals with the new key and opens with both until `rotate-master --online` finishes.
  if (stored !== kcv && previousKeys.some((k) => keyCheckValue(k) === stored)) {
    return { fingerprint: fingerprint(kcv), stored: false, rotating: fingerprint(stored) };
  }
  if (stored !== kcv && stagedKey && keyCheckValue(stagedKey) === stored) {
    throw appError(
      'MASTER_KEY_MISMATCH',
      `A master-key rotation re-sealed the database under key ${fingerprint(stored)} but stopped before putting that key in place (it waits in master.key.next): ` +
        'run `wajah keys rotate-master` again to finish, then start the server.',
      { expected: fingerprint(stored), got: fingerprint(kcv) },
    );
  }
  if (stored !== kcv) {
    throw appError(
      'MASTER_KEY_MISMATCH',
      `The master key (fingerprint ${fingerprint(kcv)}) is not the one this database was sealed with (fingerprint ${fingerprint(stored)}): ` +
        'set WAJAH_MASTER_KEY (or master.key in the data directory) to the original key from your backup. Nothing was changed.',
      { expected: fingerprint(stored), got: fingerprint(kcv) },
    );
  }
  return { fingerprint: fingerprint(kcv), stored: before === null };
}
