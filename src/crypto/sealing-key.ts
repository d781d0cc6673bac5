import crypto from 'node:crypto';

/**
 * AES-256-GCM under a key derived from the master key with HKDF for one `purpose`, so the template key
 * itself seals nothing but templates. Sealed bytes: iv (12) ‖ tag (16) ‖ ciphertext, bound to `aad`.
 * Callers add their own stored framing (webhook secrets: `v1.<base64url>`; SSO: a version byte).
 *
 * @example const k = new SealingKey(masterKey, 'wajah:webhook-secret:v1'); k.open(k.seal('s', aad), aad)
 */
export class SealingKey {
  readonly #key: Buffer;
  /** Keys derived from previous master keys: `open` accepts them during an online rotation. */
  readonly #previous: Buffer[];

  constructor(masterKey: Buffer, purpose: string, previousMasterKeys: readonly Buffer[] = []) {
    const derive = (k: Buffer) => Buffer.from(crypto.hkdfSync('sha256', k, Buffer.alloc(0), purpose, 32));
    this.#key = derive(masterKey);
    this.#previous = previousMasterKeys.map(derive);
  }

  seal(plain: Buffer | string, aad: string): Buffer {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]);
  }

  /** Throws when no key (the current one, then the previous ones) opens it, `aad` differs, or the bytes were tampered with. */
  open(sealed: Buffer, aad: string): Buffer {
    if (sealed.length < 28) throw new Error('sealed value too short');
    let failure: unknown;
    for (const key of [this.#key, ...this.#previous]) {
      try {
        return openWith(key, sealed, aad);
      } catch (e) {
        failure = e;
      }
    }
    throw failure;
  }
}

function openWith(key: Buffer, sealed: Buffer, aad: string): Buffer {
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
}
