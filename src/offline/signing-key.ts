import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The server's Ed25519 key that signs offline verification packages (docs/offline.md).
 *
 * Source: WAJAH_OFFLINE_SIGNING_KEY when set (a PKCS#8 PEM, `\n` escapes allowed, or the 32-byte seed as
 * 64 hex characters / base64); otherwise `${dataDir}/offline-signing.key`, generated on first use
 * (PEM, mode 0600, created atomically) like the template master key.
 *
 * @example const key = loadSigningKey({ envValue: process.env.WAJAH_OFFLINE_SIGNING_KEY ?? null, dataDir }, log);
 */
export const SIGNING_KEY_FILE = 'offline-signing.key';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** First 16 hex characters of SHA-256 over the raw 32-byte public key: names the key in packages. */
  keyId: string;
}

// DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function signingKeyFromPrivate(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the offline signing key must be Ed25519 (got ${privateKey.asymmetricKeyType})`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: publicKeyId(publicKey) };
}

export function publicKeyId(publicKey: KeyObject): string {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Parses WAJAH_OFFLINE_SIGNING_KEY: PKCS#8 PEM, or the 32-byte seed as hex or base64. */
export function parseSigningKey(value: string): SigningKey {
  const v = value.trim().replace(/\\n/g, '\n');
  if (v.includes('-----BEGIN')) return signingKeyFromPrivate(createPrivateKey(v));
  const seed = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (seed.length !== 32) throw new Error('WAJAH_OFFLINE_SIGNING_KEY must be a PKCS#8 PEM or a 32-byte seed (64 hex characters or base64)');
  return signingKeyFromPrivate(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
}

export function loadSigningKey(source: { envValue: string | null; dataDir: string }, log: { warn(msg: string): void }): SigningKey {
  if (source.envValue) return parseSigningKey(source.envValue);
  const file = path.join(source.dataDir, SIGNING_KEY_FILE);
  fs.mkdirSync(source.dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    // Same dance as the master key: a private temp file linked into place, so two processes starting
    // together agree on one key and nobody reads a half-written file.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      log.warn(`Generated the offline-package signing key in ${file}. Back it up (or move it to WAJAH_OFFLINE_SIGNING_KEY); devices trust its public key.`);
      return signingKeyFromPrivate(privateKey);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) log.warn(`${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it.`);
  return parseSigningKey(fs.readFileSync(file, 'utf8'));
}

/** The public key as published by GET /api/offline/public-key/. */
export function exportPublicKey(key: SigningKey): { algorithm: 'Ed25519'; key_id: string; pem: string; jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string } } {
  const jwk = key.publicKey.export({ format: 'jwk' });
  return {
    algorithm: 'Ed25519',
    key_id: key.keyId,
    pem: key.publicKey.export({ format: 'pem', type: 'spki' }) as string,
    jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string, kid: key.keyId },
  };
}

/**
 * A device's copy of the public key: PEM text, a JWK (`{kty:"OKP",crv:"Ed25519",x}`), the whole
 * public-key endpoint answer (`{pem, jwk}`), or a KeyObject.
 */
export function importPublicKey(input: string | Buffer | KeyObject | Record<string, unknown>): KeyObject {
  // A KeyObject is checked like the other forms: verify(null, …) accepts an RSA or ECDSA key too, so a device
  // handed one would trust packages signed with it.
  if (typeof input === 'object' && 'asymmetricKeyType' in input && typeof (input as KeyObject).export === 'function') return checkEd25519(input as KeyObject);
  let value: unknown = Buffer.isBuffer(input) ? input.toString('utf8') : input;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) value = JSON.parse(text) as unknown;
    else return checkEd25519(createPublicKey(text));
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.pem === 'string') return checkEd25519(createPublicKey(obj.pem));
  const jwk = (typeof obj.jwk === 'object' && obj.jwk ? obj.jwk : obj) as { kty?: string; crv?: string; x?: string };
  return checkEd25519(createPublicKey({ key: { kty: jwk.kty ?? 'OKP', crv: jwk.crv ?? 'Ed25519', x: jwk.x ?? '' }, format: 'jwk' }));
}

function checkEd25519(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 public key (got ${key.asymmetricKeyType})`);
  return key;
}
