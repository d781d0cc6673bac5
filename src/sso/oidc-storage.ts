import crypto from 'node:crypto';
import { SealingKey } from '../crypto/sealing-key.ts';

/** The stored form of a provider payload (column `oidc_payloads.payload`). */
export type SealedPayload = {
  v: 1;
  /** base64 of AES-256-GCM iv ‖ tag ‖ ciphertext of the payload's JSON. */
  sealed: string;
};

/**
 * How the provider's state is kept at rest in `oidc_payloads`: the ids, uids, user codes and grant ids
 * are bearer values or lead to them (an access token's id is the token, a session's id is the session
 * cookie, an authorization code's id is the code), so a row is found by a keyed hash of them
 * (HMAC-SHA256), and its payload (which repeats them: `jti`, `grantId`, `sessionUid`, an interaction's
 * `session.cookie`) is sealed with AES-256-GCM, bound to its model and stored id. Whoever reads the
 * database (a dump, a backup, a replica) learns no usable token.
 *
 * The secret is random, generated once and kept in `sso_keys` sealed under the master key (like the
 * signing and cookie keys), so a master-key rotation re-seals it and live sign-ins survive rotation.
 *
 * @example const s = new OidcStorage(secret); s.lookup(accessToken); s.open('AccessToken', id, s.seal('AccessToken', id, payload))
 */
export class OidcStorage {
  readonly #lookupKey: Buffer;
  readonly #sealing: SealingKey;

  constructor(secret: Buffer) {
    if (secret.length < 32) throw new Error('OIDC storage secret: 32 bytes expected');
    this.#lookupKey = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), 'wajah-oidc-lookup-v1', 32));
    this.#sealing = new SealingKey(secret, 'wajah-oidc-payload-v1');
  }

  /** The stored form of a looked-up value (id, uid, user code, grant id): base64url HMAC-SHA256. */
  lookup(value: string): string {
    return crypto.createHmac('sha256', this.#lookupKey).update(value, 'utf8').digest('base64url');
  }

  seal(model: string, storedId: string, payload: Record<string, unknown>): SealedPayload {
    return { v: 1, sealed: this.#sealing.seal(JSON.stringify(payload), aad(model, storedId)).toString('base64') };
  }

  /**
   * The payload, or undefined for a row this key cannot open: a row stored in the clear by an earlier
   * version (deleted at start-up, docs/sso.md) or moved to another model or id.
   */
  open(model: string, storedId: string, stored: unknown): Record<string, unknown> | undefined {
    const value = typeof stored === 'string' ? (JSON.parse(stored) as unknown) : stored;
    if (!value || typeof value !== 'object' || (value as SealedPayload).v !== 1 || typeof (value as SealedPayload).sealed !== 'string') return undefined;
    try {
      return JSON.parse(this.#sealing.open(Buffer.from((value as SealedPayload).sealed, 'base64'), aad(model, storedId)).toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}

const aad = (model: string, storedId: string) => `oidc-payload:${model}:${storedId}`;
