import { createCipheriv, createDecipheriv, randomBytes, scrypt, scryptSync, type KeyObject } from 'node:crypto';
import { appError } from '../errors.ts';
import { isObject, openSignedEnvelope, parseSignedEnvelope, signEnvelope, type EnvelopeKind, type SignedEnvelope } from './signed-envelope.ts';

/**
 * The offline verification package (docs/offline.md): what a device needs to verify one user's face
 * without the server. Shared by the issuing service and the device-side verifier; it imports nothing
 * that touches a database or the network.
 *
 * Wire form (JSON), JWS-like so that no JSON canonicalisation is needed to check the signature (the envelope,
 * shared with the revocation list, is src/offline/signed-envelope.ts):
 *
 *   { "format": "wajah.offline-package.v1", "key_id": "…", "payload": "<base64url(JSON)>", "signature": "<base64url>" }
 *
 * The Ed25519 signature covers the ASCII bytes `${format}.${payload}`. The payload carries the user's
 * templates encrypted with AES-256-GCM under a key derived (scrypt) from a secret only the client knows.
 *
 * @example
 *   const pkg = signPackage(payload, privateKey, keyId);
 *   const checked = openSignedPackage(pkg, publicKey); // throws OFFLINE_SIGNATURE_INVALID when altered
 */
export const PACKAGE_FORMAT = 'wajah.offline-package.v1';

/** scrypt cost: 2^15 × 8 × 128 B = 32 MiB and ≈ 0.1 s per derivation; a stolen package's secret is expensive to guess. */
export const SCRYPT_PARAMS = { N: 32768, r: 8, p: 1 } as const;
/** Upper bound a verifier accepts, so a package cannot make a device allocate unbounded memory. */
const SCRYPT_MAX_N = 1 << 20;

/** `payload` is base64url of the UTF-8 JSON of an OfflinePayload; the signed copy of `key_id` is payload.key_id. */
export type OfflinePackage = SignedEnvelope<typeof PACKAGE_FORMAT>;

const PACKAGE_KIND: EnvelopeKind<typeof PACKAGE_FORMAT> = { format: PACKAGE_FORMAT, wrapper: 'package', what: 'package', noun: 'package' };

export interface EncryptedTemplates {
  alg: 'AES-256-GCM';
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  /** base64 */
  iv: string;
  tag: string;
  /** base64 of template_count × dim float32 little-endian values. */
  ciphertext: string;
}

export interface OfflinePayload {
  v: 1;
  package_id: string;
  key_id: string;
  client_id: string;
  user: { id: string; external_id: string; name: string };
  model: string;
  dim: number;
  template_count: number;
  verification: {
    /** Calibrated confidence a probe must reach (0.8 ≈ 0.1 % false accepts per comparison). */
    confidence_threshold: number;
    /** The cosine that confidence corresponds to for this model. */
    cosine_threshold: number;
    /** Cosine → confidence anchors (src/vision/calibration.ts), so devices report the server's confidence. */
    calibration_anchors: Array<[number, number]>;
  };
  issued_at: string;
  expires_at: string;
  templates: EncryptedTemplates;
}

/** Additional authenticated data of the template ciphertext: binds it to this package, user and model. */
export function templatesAad(p: Pick<OfflinePayload, 'package_id' | 'client_id' | 'user' | 'model' | 'dim' | 'template_count'>): Buffer {
  return Buffer.from(`${PACKAGE_FORMAT}:${p.package_id}:${p.client_id}:${p.user.id}:${p.model}:${p.dim}:${p.template_count}`, 'utf8');
}

const scryptOptions = (params: { N: number; r: number; p: number }) => ({ ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 });

/** On the device (one verification at a time) the synchronous form is fine. */
function deriveKey(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer {
  return scryptSync(Buffer.from(secret.normalize('NFC'), 'utf8'), salt, 32, scryptOptions(params));
}

/** On the server, off the event loop: one derivation costs ≈ 0.1–0.2 s of CPU and 32 MiB, and issuing must not stall every other request. */
function deriveKeyAsync(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(secret.normalize('NFC'), 'utf8'), salt, 32, scryptOptions(params), (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Encrypts the templates (each L2-normalised, same model) under a key derived from the client's secret. The
 * derivation runs in the libuv thread pool: with scryptSync each issuance held the server's event loop for the
 * whole derivation, so a client issuing packages in a loop delayed every tenant's requests.
 */
export async function encryptTemplates(vectors: Float32Array[], secret: string, aad: Buffer): Promise<EncryptedTemplates> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKeyAsync(secret, salt, SCRYPT_PARAMS);
  const plain = Buffer.concat(vectors.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  key.fill(0);
  return {
    alg: 'AES-256-GCM',
    kdf: { name: 'scrypt', ...SCRYPT_PARAMS, salt: salt.toString('base64') },
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/** Decrypts the templates; a wrong secret (or altered ciphertext) is OFFLINE_DECRYPTION_FAILED. */
export function decryptTemplates(payload: OfflinePayload, secret: string): Float32Array[] {
  const t = payload.templates;
  const { N, r, p } = t.kdf;
  if (t.alg !== 'AES-256-GCM' || t.kdf.name !== 'scrypt' || !(N >= 1024 && N <= SCRYPT_MAX_N) || !(r >= 1 && r <= 32) || !(p >= 1 && p <= 16)) {
    throw appError('OFFLINE_PACKAGE_INVALID', 'Unsupported template encryption parameters');
  }
  const ciphertext = Buffer.from(t.ciphertext, 'base64');
  if (ciphertext.length !== payload.template_count * payload.dim * 4) throw appError('OFFLINE_PACKAGE_INVALID', 'Template ciphertext has the wrong length');
  const key = deriveKey(secret, Buffer.from(t.kdf.salt, 'base64'), { N, r, p });
  const plain = Buffer.alloc(ciphertext.length);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(t.iv, 'base64'), { authTagLength: 16 });
    decipher.setAAD(templatesAad(payload));
    decipher.setAuthTag(Buffer.from(t.tag, 'base64'));
    const n = decipher.update(ciphertext).copy(plain);
    decipher.final().copy(plain, n);
  } catch {
    plain.fill(0);
    throw appError('OFFLINE_DECRYPTION_FAILED', 'The package secret does not decrypt the templates (wrong secret)');
  } finally {
    key.fill(0);
  }
  const out: Float32Array[] = [];
  for (let i = 0; i < payload.template_count; i++) {
    const v = new Float32Array(payload.dim);
    Buffer.from(v.buffer).set(plain.subarray(i * payload.dim * 4, (i + 1) * payload.dim * 4));
    out.push(v);
  }
  plain.fill(0);
  return out;
}

export function signPackage(payload: OfflinePayload, privateKey: KeyObject): OfflinePackage {
  return signEnvelope(PACKAGE_KIND, payload, privateKey);
}

/**
 * Accepts a package as issued by the API (`{ package: … }`), the bare package object, or its JSON text,
 * and checks its shape (not yet its signature).
 */
export function parsePackage(input: unknown): OfflinePackage {
  return parseSignedEnvelope(input, PACKAGE_KIND);
}

/**
 * Checks the Ed25519 signature with the server's public key, then decodes the payload. Nothing in the
 * payload is read before the signature is known to be good.
 */
export function openSignedPackage(pkg: OfflinePackage, publicKey: KeyObject): OfflinePayload {
  const payload = openSignedEnvelope(pkg, publicKey, PACKAGE_KIND) as OfflinePayload;
  if (!isObject(payload) || payload.v !== 1 || typeof payload.model !== 'string' || !Number.isInteger(payload.dim) || !Number.isInteger(payload.template_count)) {
    throw appError('OFFLINE_PACKAGE_INVALID', 'The package payload is incomplete');
  }
  return payload;
}
