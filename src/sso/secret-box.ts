import { SealingKey } from '../crypto/sealing-key.ts';

/**
 * AES-256-GCM for the SSO layer's secrets at rest (relying-party secrets, the provider's private
 * signing key and cookie keys, Wajah session tokens held for an interaction). The key is derived
 * from the master key with HKDF, so every instance sharing WAJAH_MASTER_KEY reads the same rows
 * and the template key itself is never used for anything but templates.
 *
 * @example const box = new SecretBox(masterKey); box.open(box.seal(Buffer.from('x'), 'aad'), 'aad');
 */
export class SecretBox {
  readonly #key: SealingKey;

  /** `previousMasterKeys`: still opened (never sealed with) during an online master-key rotation. */
  constructor(masterKey: Buffer, previousMasterKeys: readonly Buffer[] = []) {
    this.#key = new SealingKey(masterKey, 'wajah-sso-v1', previousMasterKeys);
  }

  /** Stored form: a version byte (1) ‖ iv ‖ tag ‖ ciphertext. */
  seal(plain: Buffer | string, aad: string): Buffer {
    return Buffer.concat([Buffer.from([1]), this.#key.seal(plain, aad)]);
  }

  open(blob: Buffer, aad: string): Buffer {
    if (blob.length < 29 || blob[0] !== 1) throw new Error('sealed SSO secret: unknown format');
    return this.#key.open(blob.subarray(1), aad);
  }
}
