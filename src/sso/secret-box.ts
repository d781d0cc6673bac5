import crypto from 'node:crypto';

/**
 * AES-256-GCM for the SSO layer's secrets at rest (relying-party secrets, the provider's private
 * signing key and cookie keys, Wajah session tokens held for an interaction). The key is derived
 * from the master key with HKDF, so every instance sharing WAJAH_MASTER_KEY reads the same rows
 * and the template key itself is never used for anything but templates.
 *
 * @example const box = new SecretBox(masterKey); box.open(box.seal(Buffer.from('x'), 'aad'), 'aad');
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(masterKey: Buffer) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), 'wajah-sso-v1', 32));
  }

  seal(plain: Buffer | string, aad: string): Buffer {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), c.final()]);
    return Buffer.concat([Buffer.from([1]), iv, c.getAuthTag(), body]);
  }

  open(blob: Buffer, aad: string): Buffer {
    if (blob.length < 29 || blob[0] !== 1) throw new Error('sealed SSO secret: unknown format');
    const d = crypto.createDecipheriv('aes-256-gcm', this.#key, blob.subarray(1, 13));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(blob.subarray(13, 29));
    return Buffer.concat([d.update(blob.subarray(29)), d.final()]);
  }
}
