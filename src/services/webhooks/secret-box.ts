import crypto from 'node:crypto';

/**
 * Endpoint secrets at rest. A secret must be recoverable (it keys the HMAC of every delivery), so it
 * cannot be hashed; it is sealed with AES-256-GCM under a key derived from the master key, bound to
 * its tenant and endpoint. A leaked database dump alone then does not let anyone forge signed
 * webhooks (the guide's receiver grants access on authentication.success).
 * Stored form: `v1.<base64url(iv ‖ tag ‖ ciphertext)>`.
 *
 * @example const box = new SecretBox(masterKey); const sealed = box.seal(secret, `${clientId}:${endpointId}`)
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(masterKey: Buffer) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), 'wajah:webhook-secret:v1', 32));
  }

  seal(secret: string, aad: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')}`;
  }

  /** Throws when the key, tenant or endpoint differ, or the value was tampered with. */
  open(sealed: string, aad: string): string {
    if (!sealed.startsWith('v1.')) throw new Error('unknown webhook secret format');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

export function secretAad(clientId: string, endpointId: string): string {
  return `webhook:${clientId}:${endpointId}`;
}
