import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import {
  AAD_FORM_SINCE,
  legacyPhotoAad,
  legacyReviewPhotoAad,
  legacyTemplateAad,
  photoAad,
  reviewPhotoAad,
  SEALING_AAD_SETTING,
  SEALING_AAD_VERSION,
  TemplateCipher,
  TemplateDecryptError,
  templateAad,
} from '../crypto/template-cipher.ts';
import { keyCheckValue, fingerprint } from '../crypto/key-check.ts';
import { FALLBACK_PEPPER_SETTING, loadFallbackPepper, openFallbackPepper, sealFallbackPepper } from '../crypto/fallback-pepper.ts';
import { getInstanceSetting, putInstanceSetting } from '../db/repositories/instance-settings.repository.ts';
import { loadSealedPage, lockSealedRow, SEALED_COLUMNS, updateSealedValue, type SealedColumn, type SealedRow } from '../db/repositories/sealed-data.repository.ts';
import { SecretBox as SsoBox } from '../sso/secret-box.ts';
import { SecretBox as WebhookBox, secretAad } from '../services/webhooks/secret-box.ts';
import { appError } from '../errors.ts';
import { sealKeyHolders } from '../db/seal-key-lock.ts';

/** The master-key check value setting (crypto/key-check.ts). */
const KCV_SETTING = 'master_key_check';
const PAGE = 500;

/**
 * Opens a value with the old key's sealers and seals it with the new key's; null when the row holds nothing
 * sealed. `legacy`: the database's AAD version (SEALING_AAD_SETTING) predates the current form of this column
 * (AAD_FORM_SINCE), so a value still sealed in the column's earlier form is accepted, and re-sealed in the
 * current form.
 */
type Reseal = (row: SealedRow, from: Sealers, to: Sealers, legacy: boolean) => unknown;

interface Sealers {
  cipher: TemplateCipher;
  sso: SsoBox;
  webhook: WebhookBox;
}

const sealers = (key: Buffer, previous: readonly Buffer[] = []): Sealers => ({
  cipher: new TemplateCipher(key, { fallbackKeys: previous }),
  sso: new SsoBox(key, previous),
  webhook: new WebhookBox(key, previous),
});
const bytes = (v: unknown) => Buffer.from(v as Uint8Array);

/**
 * Re-seals a TemplateCipher blob (templates, photos: the padded bytes are kept as they are) under its current
 * AAD; with `legacy`, a blob that opens only under its earlier AAD is re-sealed under the current one.
 */
const blob =
  (aad: (r: SealedRow) => string, legacyAad: (r: SealedRow) => string): Reseal =>
  (r, from, to, legacy) => {
    const a = aad(r);
    let plain: Float32Array;
    try {
      plain = from.cipher.decrypt(bytes(r.ciphertext), a);
    } catch (e) {
      if (!legacy || !(e instanceof TemplateDecryptError)) throw e;
      plain = from.cipher.decrypt(bytes(r.ciphertext), legacyAad(r));
    }
    return to.cipher.encrypt(plain, a);
  };

/** A review photo whose review (and so user) is gone has nothing to bind to: it does not open. */
const reviewUser = (r: SealedRow) => (r.user_id == null ? '<no review>' : String(r.user_id));

/** How each sealed column is re-sealed: the AAD each write path binds it to (see the services named). */
const RESEAL: Record<keyof typeof SEALED_COLUMNS, Reseal> = {
  // services/templates.service.ts
  face_templates: blob(
    (r) => templateAad(String(r.client_id), String(r.user_id), String(r.id), String(r.model_id)),
    (r) => legacyTemplateAad(String(r.client_id), String(r.id), String(r.model_id)),
  ),
  // services/enrollment.store.ts (AAD version 3: bound to the user and the enrollment)
  face_photos: blob(
    (r) => photoAad(String(r.client_id), String(r.user_id), String(r.enrollment_id), String(r.id)),
    (r) => legacyPhotoAad(String(r.client_id), String(r.id)),
  ),
  // services/review.service.ts
  review_photos: blob(
    (r) => reviewPhotoAad(String(r.client_id), String(r.review_id), reviewUser(r), String(r.id)),
    (r) => legacyReviewPhotoAad(String(r.client_id), String(r.id)),
  ),
  sessions: resealSessionState,
  // services/webhooks/webhooks.service.ts
  webhook_endpoints: (r, from, to) => {
    const aad = secretAad(String(r.client_id), String(r.id));
    return to.webhook.seal(from.webhook.open(String(r.secret), aad), aad);
  },
  // sso/sso-clients.service.ts, sso/provider.ts, sso/sso-login.service.ts
  sso_clients: (r, from, to) => to.sso.seal(from.sso.open(bytes(r.secret_ciphertext), `sso-client:${String(r.id)}`), `sso-client:${String(r.id)}`),
  sso_keys: (r, from, to) => {
    const aad = `sso-key:${String(r.kind)}:${String(r.id)}`;
    return to.sso.seal(from.sso.open(bytes(r.ciphertext), aad), aad);
  },
  sso_logins: (r, from, to) => to.sso.seal(from.sso.open(bytes(r.session_token_ciphertext), `sso-login:${String(r.uid)}`), `sso-login:${String(r.uid)}`),
};

/**
 * The AAD version every row of the database is sealed in (SEALING_AAD_SETTING; 1 when unset: an install from
 * before the setting). Below SEALING_AAD_VERSION the database may still hold values in earlier forms.
 */
async function storedAadVersion(db: Kysely<Database>): Promise<number> {
  const v = Number(await getInstanceSetting(db, SEALING_AAD_SETTING));
  return Number.isInteger(v) && v >= 1 ? v : 1;
}

/** Whether `name` may still hold values in an earlier AAD form, on a database at AAD version `stored`. */
function legacyIn(name: keyof typeof SEALED_COLUMNS, stored: number): boolean {
  const since = (AAD_FORM_SINCE as Partial<Record<keyof typeof SEALED_COLUMNS, number>>)[name];
  return since !== undefined && stored < since;
}

/**
 * Session state holds sealed per-session vectors (services/enrollment.service.ts: `frames[].emb` as
 * `label|base64`; services/authentication.service.ts: `anchor` and `thumb`), AAD
 * `${clientId}:session:${sessionId}:${label}`. Returns the new state as JSON, or null when it seals nothing.
 */
function resealSessionState(r: SealedRow, from: Sealers, to: Sealers): string | null {
  const state = (typeof r.state === 'string' ? JSON.parse(r.state) : structuredClone(r.state)) as Record<string, unknown> | null;
  if (!state || typeof state !== 'object') return null;
  const aad = (label: string) => `${String(r.client_id)}:session:${String(r.id)}:${label}`;
  const move = (label: string, sealed: string) => to.cipher.encrypt(from.cipher.decrypt(Buffer.from(sealed, 'base64'), aad(label)), aad(label)).toString('base64');
  let changed = false;
  if (Array.isArray(state.frames)) {
    for (const f of state.frames as Array<{ emb?: unknown }>) {
      if (typeof f?.emb !== 'string' || !f.emb.includes('|')) continue;
      const i = f.emb.indexOf('|');
      const label = f.emb.slice(0, i);
      f.emb = `${label}|${move(label, f.emb.slice(i + 1))}`;
      changed = true;
    }
  }
  for (const label of ['anchor', 'thumb', 'shape'] as const) {
    if (typeof state[label] === 'string' && state[label]) {
      state[label] = move(label, state[label]);
      changed = true;
    }
  }
  const planar = state.planar as { crop?: unknown } | null | undefined;
  if (planar && typeof planar.crop === 'string' && planar.crop) {
    planar.crop = move('planar', planar.crop);
    changed = true;
  }
  return changed ? JSON.stringify(state) : null;
}

export interface RotationResult {
  /** Fingerprints (key check values, short form) of the key before and after. */
  from: string;
  to: string;
  /** Values re-sealed, per table (plus `instance_settings` for the fallback pepper). */
  resealed: Record<string, number>;
}

export interface RotationOptions {
  /** Called after each re-sealed value, inside the transaction (progress; the tests crash here). */
  onResealed?: (total: number) => void;
  /** Online rotation: awaited after the first pass, before the new key is recorded (the tests start a server here). */
  afterPass?: () => Promise<void>;
}

/**
 * Re-seals everything sealed under `oldKey` with `newKey` in ONE transaction, then stores the new
 * key's check value: the database is either wholly under the old key or wholly under the new one,
 * so a crash at any point loses nothing (the old key still opens everything until the commit).
 * A value the old key does not open (tampered, or sealed under a third key) aborts the rotation
 * with SEALED_DATA_UNREADABLE naming the row: re-sealing around it would lose it for good.
 * The caller must hold the database alone (no server may seal with the old key meanwhile).
 *
 * @example await rotateMasterKey(db, oldKey, newKey) // → { from: '3f…', to: '9a…', resealed: { face_templates: 120, … } }
 */
export async function rotateMasterKey(db: Kysely<Database>, oldKey: Buffer, newKey: Buffer, options: RotationOptions = {}): Promise<RotationResult> {
  const from = keyCheckValue(oldKey);
  const to = keyCheckValue(newKey);
  if (from === to) throw appError('NEW_MASTER_KEY_INVALID', 'The new master key is the current one: give a different key (or none, to generate one)');
  return db.transaction().execute(async (trx) => {
    const stored = await getInstanceSetting(trx, KCV_SETTING);
    if (stored !== null && stored !== from) {
      throw appError('MASTER_KEY_MISMATCH', `The current master key (fingerprint ${fingerprint(from)}) is not the one this database is sealed with (fingerprint ${fingerprint(stored)}): nothing was changed.`, {
        expected: fingerprint(stored),
        got: fingerprint(from),
      });
    }
    const old = sealers(oldKey);
    const next = sealers(newKey);
    const aadVersion = await storedAadVersion(trx);
    const resealed: Record<string, number> = {};
    let total = 0;
    for (const [name, column] of Object.entries(SEALED_COLUMNS) as Array<[keyof typeof SEALED_COLUMNS, SealedColumn]>) {
      resealed[name] = 0;
      for (let after: unknown[] | null = null; ; ) {
        const rows = await loadSealedPage(trx, column, after, PAGE);
        for (const row of rows) {
          let value: unknown;
          try {
            value = RESEAL[name](row, old, next, legacyIn(name, aadVersion));
          } catch (e) {
            const id = column.keys.map((k) => String(row[k])).join('/');
            throw appError('SEALED_DATA_UNREADABLE', `${column.table} ${id}: the current master key does not open its ${column.sealed} (${(e as Error).message}); nothing was changed. Delete or repair that row, then rotate again.`, {
              table: column.table,
              id,
            });
          }
          if (value === null) continue;
          await updateSealedValue(trx, column, row, value);
          resealed[name]++;
          options.onResealed?.(++total);
        }
        if (rows.length < PAGE) break;
        const last = rows[rows.length - 1];
        after = column.keys.map((k) => last[k]);
      }
    }
    // PIN/password hashes cannot be re-sealed: keep their pepper, now sealed under the new key.
    const pepper = openFallbackPepper(oldKey, await getInstanceSetting(trx, FALLBACK_PEPPER_SETTING));
    await putInstanceSetting(trx, FALLBACK_PEPPER_SETTING, sealFallbackPepper(newKey, pepper));
    resealed.instance_settings = 1;
    options.onResealed?.(++total);
    await putInstanceSetting(trx, KCV_SETTING, to);
    // Every template and photo now sealed in its current AAD form (a row that did not open aborted).
    if (aadVersion < SEALING_AAD_VERSION) await putInstanceSetting(trx, SEALING_AAD_SETTING, String(SEALING_AAD_VERSION));
    return { from: fingerprint(from), to: fingerprint(to), resealed };
  });
}

/**
 * The rotation without downtime (PostgreSQL; docs/operations-keys.md): every server already runs with the new
 * key as WAJAH_MASTER_KEY and the old one in WAJAH_MASTER_KEY_PREVIOUS, so each seals with the new key and opens
 * with both. This re-seals what is still under an old key row by row, each row in its own short transaction
 * that locks it (a server updating the same row waits, and nothing it writes is lost), skipping rows already
 * under the new key; it stores the PIN/password pepper under the new key first, and the new key's check value
 * last. Interrupted, it can run again: it continues where values are still under the old key.
 */
export async function rotateMasterKeyOnline(db: Kysely<Database>, currentKey: Buffer, previousKeys: readonly Buffer[], options: RotationOptions = {}): Promise<RotationResult> {
  const to = keyCheckValue(currentKey);
  const stored = await getInstanceSetting(db, KCV_SETTING);
  const olds = previousKeys.map(keyCheckValue);
  if (stored !== null && stored !== to && !olds.includes(stored)) {
    throw appError('MASTER_KEY_MISMATCH', `The database is sealed under key ${fingerprint(stored)}, which is neither WAJAH_MASTER_KEY (${fingerprint(to)}) nor in WAJAH_MASTER_KEY_PREVIOUS: nothing was changed.`, {
      expected: fingerprint(stored),
      got: fingerprint(to),
    });
  }
  // A process still sealing with an old key (not restarted with the new one): nothing to do until it is.
  await refuseOldKeyHolders(db, olds);
  const current = sealers(currentKey);
  const keyring = sealers(currentKey, previousKeys);
  const aadVersion = await storedAadVersion(db);
  const resealed: Record<string, number> = {};
  let total = 0;
  // The pepper first: PIN/password hashes keep verifying on every server whichever key it loads it with.
  await db.transaction().execute(async (trx) => {
    const raw = await getInstanceSetting(trx, FALLBACK_PEPPER_SETTING);
    try {
      if (raw) {
        openFallbackPepper(currentKey, raw);
        return; // already under the new key
      }
    } catch {
      /* sealed under an old key: re-seal below */
    }
    const pepper = await loadFallbackPepper(trx, currentKey, previousKeys);
    await putInstanceSetting(trx, FALLBACK_PEPPER_SETTING, sealFallbackPepper(currentKey, pepper));
    resealed.instance_settings = 1;
    options.onResealed?.(++total);
  });
  const pass = () => resealPass(db, keyring, current, aadVersion, resealed, () => options.onResealed?.(++total));
  await pass();
  await options.afterPass?.();
  // The new key's check value last, with its row locked: a server starting now waits on it (verifyMasterKey reads
  // it FOR SHARE) and then finds the new key's. Meanwhile no process may still seal with an old key, and what one
  // wrote after the pass went by (it has stopped since) is re-sealed first: nothing is left that the new key alone
  // cannot open.
  await db.transaction().execute(async (trx) => {
    await getInstanceSetting(trx, KCV_SETTING, { forUpdate: true });
    await refuseOldKeyHolders(trx, olds);
    await pass();
    await putInstanceSetting(trx, KCV_SETTING, to);
    if (aadVersion < SEALING_AAD_VERSION) await putInstanceSetting(trx, SEALING_AAD_SETTING, String(SEALING_AAD_VERSION));
  });
  return { from: stored ? fingerprint(stored) : fingerprint(to), to: fingerprint(to), resealed };
}

/**
 * Refuses while a process other than this one holds the seal-key lock of a previous key (seal-key-lock.ts): it
 * was not restarted with the new key, so what it seals after the rotation would be lost to the new key alone.
 */
async function refuseOldKeyHolders(db: Kysely<Database>, olds: readonly string[]): Promise<void> {
  for (const kcv of olds) {
    const holders = await sealKeyHolders(db, kcv);
    if (!holders.length) continue;
    const who = holders.map((h) => `pid ${h.pid}${h.addr ? ` from ${h.addr}` : ''}${h.application ? ` (${h.application})` : ''}`).join(', ');
    throw appError(
      'MASTER_KEY_IN_USE',
      `${holders.length} Wajah process(es) still seal with the previous master key ${fingerprint(kcv)} (${who}): restart each with WAJAH_MASTER_KEY=<new key> and WAJAH_MASTER_KEY_PREVIOUS=<old key>, then run the rotation again. The new key was not recorded; values re-sealed so far stay re-sealed.`,
      { key: fingerprint(kcv), processes: holders.length },
    );
  }
}

/** One pass over every sealed column: re-seals, row by row, what the current key alone does not open yet. */
async function resealPass(db: Kysely<Database>, keyring: Sealers, current: Sealers, aadVersion: number, resealed: Record<string, number>, onResealed: () => void): Promise<void> {
    for (const [name, column] of Object.entries(SEALED_COLUMNS) as Array<[keyof typeof SEALED_COLUMNS, SealedColumn]>) {
    resealed[name] ??= 0;
    for (let after: unknown[] | null = null; ; ) {
      const rows = await loadSealedPage(db, column, after, PAGE);
      for (const row of rows) {
        if (underCurrent(name, row, current)) continue;
        const done = await db.transaction().execute(async (trx) => {
          const fresh = await lockSealedRow(trx, column, row);
          if (!fresh || underCurrent(name, fresh, current)) return false;
          let value: unknown;
          try {
            value = RESEAL[name](fresh, keyring, current, legacyIn(name, aadVersion));
          } catch (e) {
            const id = column.keys.map((k) => String(fresh[k])).join('/');
            throw appError('SEALED_DATA_UNREADABLE', `${column.table} ${id}: neither the new nor a previous master key opens its ${column.sealed} (${(e as Error).message}). Rows re-sealed so far stay re-sealed; delete or repair that row, then run the rotation again.`, {
              table: column.table,
              id,
            });
          }
          if (value === null) return false;
          await updateSealedValue(trx, column, fresh, value);
          return true;
        });
        if (done) {
          resealed[name]++;
          onResealed();
        }
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1];
      after = column.keys.map((k) => last[k]);
    }
  }
}

/** Whether every value of the row already opens with the current key alone (or it seals nothing). */
function underCurrent(name: keyof typeof SEALED_COLUMNS, row: SealedRow, current: Sealers): boolean {
  try {
    RESEAL[name](row, current, current, false);
    return true;
  } catch {
    return false;
  }
}

export interface AadUpgradeResult {
  /** Rows re-sealed from an earlier AAD form, per table (only the tables the stored version predates). */
  resealed: Record<string, number>;
  /** Rows that opened in neither form (tampered, or sealed under another key): left as they are, refused when used. */
  unreadable: number;
}

export interface AadUpgradeOptions {
  /** Called after each re-sealed row, outside its transaction (progress; the tests interrupt here). */
  onResealed?: (total: number) => void;
}

/** The sealed columns whose AAD form changed (version 2: templates and review photos; 3: enrollment photos). */
type AadUpgraded = keyof typeof AAD_FORM_SINCE;
const AAD_UPGRADED = Object.keys(AAD_FORM_SINCE) as AadUpgraded[];

/**
 * The one-time upgrade of stored templates, review photos and enrollment photos to their current AAD forms
 * (bound to their user; SEALING_AAD_VERSION), run at every start (FaceGallery.start) until the instance setting
 * SEALING_AAD_SETTING says it finished: then it reads one setting and returns null. Only the columns whose form
 * changed after the stored version are visited (AAD_FORM_SINCE): an install at version 2 upgrades its enrollment
 * photos alone, and a template in the version 1 form there stays refused. Each row still in its earlier form is
 * opened with `cipher` (the current and previous master keys) and re-sealed in the current form in its own short
 * transaction that locks it and checks it again, so several instances starting at once (PostgreSQL) re-seal each
 * row once and wait for each other; interrupted, it starts over and skips what is done. A row that opens in
 * neither form is logged and left: it is refused when used (an integrity failure), never re-sealed around. The
 * setting is written last; from then on only the current forms open (docs/operations-keys.md).
 *
 * @example await upgradeSealingAad(db, vault.cipher, log) // → { resealed: { face_templates: 120, review_photos: 0, face_photos: 3 }, unreadable: 0 }
 */
export async function upgradeSealingAad(db: Kysely<Database>, cipher: TemplateCipher, log: { warn(msg: string): void }, options: AadUpgradeOptions = {}): Promise<AadUpgradeResult | null> {
  const stored = await storedAadVersion(db);
  if (stored >= SEALING_AAD_VERSION) return null;
  const keyring: Sealers = { cipher } as Sealers;
  const resealed: Record<string, number> = {};
  let unreadable = 0;
  let total = 0;
  for (const name of AAD_UPGRADED.filter((n) => legacyIn(n, stored))) {
    const column: SealedColumn = SEALED_COLUMNS[name];
    resealed[name] = 0;
    for (let after: unknown[] | null = null; ; ) {
      const rows = await loadSealedPage(db, column, after, PAGE);
      for (const row of rows) {
        if (opensCurrent(name, row, keyring)) continue;
        const outcome = await db.transaction().execute(async (trx) => {
          const fresh = await lockSealedRow(trx, column, row);
          if (!fresh || opensCurrent(name, fresh, keyring)) return 'done' as const;
          let value: unknown;
          try {
            value = RESEAL[name](fresh, keyring, keyring, true);
          } catch (e) {
            log.warn(`sealed-data integrity: ${column.table} ${String(fresh.id)} opens in neither AAD form (${(e as Error).message}); left as it is, it is refused when used. Re-enroll its user or delete the row.`);
            return 'unreadable' as const;
          }
          await updateSealedValue(trx, column, fresh, value);
          return 'resealed' as const;
        });
        if (outcome === 'unreadable') unreadable++;
        if (outcome === 'resealed') {
          resealed[name]++;
          options.onResealed?.(++total);
        }
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1];
      after = column.keys.map((k) => last[k]);
    }
  }
  await putInstanceSetting(db, SEALING_AAD_SETTING, String(SEALING_AAD_VERSION));
  if (total || unreadable) {
    log.warn(`sealed data upgraded to AAD version ${SEALING_AAD_VERSION} (bound to the user): re-sealed ${JSON.stringify(resealed)}, ${unreadable} unreadable row(s) left refused`);
  }
  return { resealed, unreadable };
}

/** Whether the row's value opens in its current AAD form (with the keys of `keyring`). */
function opensCurrent(name: AadUpgraded, row: SealedRow, keyring: Sealers): boolean {
  try {
    RESEAL[name](row, keyring, keyring, false);
    return true;
  } catch {
    return false;
  }
}
