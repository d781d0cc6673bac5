import { SealingKey } from '../../crypto/sealing-key.ts';

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
  readonly #key: SealingKey;

  /** `previousMasterKeys`: still opened (never sealed with) during an online master-key rotation. */
  constructor(masterKey: Buffer, previousMasterKeys: readonly Buffer[] = []) {
    this.#key = new SealingKey(masterKey, 'wajah:webhook-secret:v1', previousMasterKeys);
  }

  seal(secret: string, aad: string): string {
    return `v1.${this.#key.seal(secret, aad).toString('base64url')}`;
  }

  /** Throws when the key, tenant or endpoint differ, or the value was tampered with. */
  open(sealed: string, aad: string): string {
    if (!sealed.startsWith('v1.')) throw new Error('unknown webhook secret format');
    return this.#key.open(Buffer.from(sealed.slice(3), 'base64url'), aad).toString('utf8');
  }
}

export function secretAad(clientId: string, endpointId: string): string {
  return `webhook:${clientId}:${endpointId}`;
}
