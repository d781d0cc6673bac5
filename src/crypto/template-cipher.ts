import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, isKey } from '../config/env.ts';

/**
 * Blob layout (one bytea column), all offsets in bytes:
 *
 *   0      1            13           29
 *   | ver | iv (12)     | tag (16)   | ciphertext (4 × dim, float32 little-endian) |
 *
 * `ver` names the key that encrypted the blob, so keys can rotate: a new process encrypts with
 * the newest key and still decrypts older rows with the key of their version. The additional
 * authenticated data is `ver` followed by the caller's string (templateAad: tenant, user, template and
 * model), so a row copied or moved to another tenant, user, template or model fails authentication
 * instead of decrypting.
 */
export const TEMPLATE_BLOB_HEADER = 1 + 12 + 16;

const IV_BYTES = 12;
const TAG_BYTES = 16;

// Float32Array bytes are written as they sit in memory; every platform Node ships on is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('template-cipher assumes a little-endian platform');

export class TemplateDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateDecryptError';
  }
}

export interface TemplateCipherOptions {
  /** Version byte written into new blobs (1..255). Default 1. */
  version?: number;
  /** Keys of earlier versions, still accepted for decryption during a rotation. */
  previousKeys?: ReadonlyMap<number, Buffer>;
  /** Previous master keys (WAJAH_MASTER_KEY_PREVIOUS), tried for any version during an online master-key rotation. */
  fallbackKeys?: readonly Buffer[];
}

/**
 * AES-256-GCM for face embeddings; the database only ever sees the blob.
 *
 * @example
 * const cipher = new TemplateCipher(loadMasterKey(config, log));
 * const blob = cipher.encrypt(embedding, templateAad(clientId, userId, templateId, modelId));
 * const vec = cipher.decrypt(blob, templateAad(clientId, userId, templateId, modelId));
 */
export class TemplateCipher {
  readonly #keys = new Map<number, Buffer>();
  readonly #version: number;
  /** Previous master keys, tried after the version's own key during an online rotation. */
  readonly #fallbacks: Buffer[];

  constructor(key: Buffer, options: TemplateCipherOptions = {}) {
    const version = options.version ?? 1;
    if (!Number.isInteger(version) || version < 1 || version > 255) throw new RangeError('key version must be 1..255');
    for (const [v, k] of options.previousKeys ?? []) this.#keys.set(v, checkKey(k));
    this.#keys.set(version, checkKey(key));
    this.#version = version;
    this.#fallbacks = (options.fallbackKeys ?? []).map(checkKey);
  }

  get version(): number {
    return this.#version;
  }

  encrypt(vec: Float32Array, aad: string): Buffer {
    const header = Buffer.alloc(TEMPLATE_BLOB_HEADER);
    header[0] = this.#version;
    const iv = randomBytes(IV_BYTES);
    iv.copy(header, 1);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#version)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aadBytes(this.#version, aad));
    const plain = Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    cipher.getAuthTag().copy(header, 1 + IV_BYTES);
    return Buffer.concat([header, body]);
  }

  decrypt(blob: Buffer, aad: string): Float32Array {
    if (blob.length < TEMPLATE_BLOB_HEADER || (blob.length - TEMPLATE_BLOB_HEADER) % 4 !== 0) {
      throw new TemplateDecryptError(`template blob has an invalid length (${blob.length} bytes)`);
    }
    const version = blob[0];
    const key = this.#keys.get(version);
    if (!key) throw new TemplateDecryptError(`template was encrypted with unknown key version ${version}`);
    const out = new Float32Array((blob.length - TEMPLATE_BLOB_HEADER) / 4);
    const outBytes = Buffer.from(out.buffer);
    for (const k of [key, ...this.#fallbacks]) {
      const decipher = createDecipheriv('aes-256-gcm', k, blob.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(aadBytes(version, aad));
      decipher.setAuthTag(blob.subarray(1 + IV_BYTES, TEMPLATE_BLOB_HEADER));
      try {
        const n = decipher.update(blob.subarray(TEMPLATE_BLOB_HEADER)).copy(outBytes);
        decipher.final().copy(outBytes, n);
        return out;
      } catch {
        out.fill(0); // never hand back bytes that failed authentication
      }
    }
    throw new TemplateDecryptError('template failed authentication (wrong key, tenant, user, template or model, or tampered)');
  }
}

/**
 * The version of the AAD forms below, stored as the instance setting SEALING_AAD_SETTING once every row of
 * the database is sealed in it (services/master-key-rotation.service.ts: upgradeSealingAad).
 * 1: templates `${clientId}:${templateId}:${modelId}`, review photos `${clientId}:review-photo:${photoId}`:
 *    not bound to the user, so a row moved to another user (its user_id rewritten) still opened.
 * 2: both bound to the owning user as well (the forms below); enrollment photos still `${clientId}:photo:${photoId}`.
 * 3: enrollment photos bound to their user and enrollment as well (photoAad).
 * An install at version 2 upgrades only its photos to 3 (AAD_FORM_SINCE says which columns each version changed).
 */
export const SEALING_AAD_VERSION = 3;
export const SEALING_AAD_SETTING = 'sealing_aad_version';

/** The AAD version in which each upgraded sealed column got its current form (upgradeSealingAad). */
export const AAD_FORM_SINCE = { face_templates: 2, review_photos: 2, face_photos: 3 } as const;

/**
 * The additional authenticated data for one template row (AAD version 2): tenant, owning user, template id
 * and model. A row whose user_id was rewritten (moved to another user), or whose ciphertext was copied from
 * another row, fails authentication instead of decrypting as that user's face.
 */
export function templateAad(clientId: string, userId: string, templateId: string, modelId: string): string {
  return `tpl2:${clientId}:${userId}:${templateId}:${modelId}`;
}

/** The AAD version 1 form (not bound to the user): only the one-time upgrade opens it (upgradeSealingAad). */
export function legacyTemplateAad(clientId: string, templateId: string, modelId: string): string {
  return `${clientId}:${templateId}:${modelId}`;
}

/** The AAD of a manual-review photo (version 2): tenant, review, the review's user and the photo. */
export function reviewPhotoAad(clientId: string, reviewId: string, userId: string, photoId: string): string {
  return `rp2:${clientId}:${reviewId}:${userId}:${photoId}`;
}

/** The AAD version 1 form of a review photo: only the one-time upgrade opens it. */
export function legacyReviewPhotoAad(clientId: string, photoId: string): string {
  return `${clientId}:review-photo:${photoId}`;
}

/**
 * The AAD of an opted-in enrollment photo (version 3): tenant, owning user, enrollment and photo id. A row
 * moved to another user or enrollment, or given another row's ciphertext, does not open.
 */
export function photoAad(clientId: string, userId: string, enrollmentId: string, photoId: string): string {
  return `fp3:${clientId}:${userId}:${enrollmentId}:${photoId}`;
}

/** The AAD form of an enrollment photo before version 3 (tenant and photo only): only the one-time upgrade opens it. */
export function legacyPhotoAad(clientId: string, photoId: string): string {
  return `${clientId}:photo:${photoId}`;
}

function aadBytes(version: number, aad: string): Buffer {
  return Buffer.concat([Buffer.of(version), Buffer.from(aad, 'utf8')]);
}

function checkKey(key: Buffer): Buffer {
  if (key.length !== 32) throw new RangeError(`AES-256 needs a 32-byte key (got ${key.length})`);
  return Buffer.from(key);
}

/** Parses a 32-byte key given as 64 hex characters or base64. */
export function parseKey(value: string): Buffer {
  const v = value.trim();
  if (!isKey(v)) throw new RangeError('key must be 32 bytes as 64 hex characters or base64');
  return /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
}

export const MASTER_KEY_FILE = 'master.key';

/**
 * The template key: WAJAH_MASTER_KEY when set; otherwise `${dataDir}/master.key`, generated
 * (32 random bytes, hex, mode 0600, created atomically) on the first start with a warning that it must be backed up.
 * Losing that file makes every stored template undecryptable.
 *
 * @example const key = loadMasterKey(loadConfig(), app.log);
 */
export function loadMasterKey(
  config: { masterKey: string | null; dataDir: string; databaseUrl?: string | null },
  log: { warn(msg: string): void },
): Buffer {
  if (config.masterKey) return parseKey(config.masterKey);
  const file = path.join(config.dataDir, MASTER_KEY_FILE);
  if (config.databaseUrl) {
    log.warn(
      `WAJAH_MASTER_KEY is not set while DATABASE_URL is: using ${file}. Every server process sharing this database must use the same key; set WAJAH_MASTER_KEY.`,
    );
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    const key = randomBytes(32);
    // Write a private temp file, then link() it into place: the key appears complete or not at
    // all, and link fails with EEXIST if another process starting at the same time won the race.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      log.warn(
        `Generated a new template encryption key in ${file}. Back it up (or move it to WAJAH_MASTER_KEY): without it the stored face templates cannot be decrypted.`,
      );
      return key;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) log.warn(`${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it.`);
  const raw = fs.readFileSync(file);
  if (raw.length === 32) return raw;
  try {
    return parseKey(raw.toString('utf8'));
  } catch {
    // A refusal to start, said in one line (server.ts): the file was cut or overwritten.
    throw new ConfigError([`${file} does not hold a 32-byte key (hex, base64 or raw): restore it from your backup, or set WAJAH_MASTER_KEY to the key`]);
  }
}
