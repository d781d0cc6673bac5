import crypto from 'node:crypto';

/** scrypt cost: N = 2^14, r = 8 (16 MiB, ≈ 50 ms per hash on one core). Stored with each hash, so it can rise later. */
export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function scrypt(input: Buffer, salt: Buffer, p: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.scrypt(input, salt, KEY_BYTES, { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Slow salted hashes for PIN/password fallback credentials. Each secret gets its own random salt
 * and is first keyed with a pepper (HMAC-SHA256) that comes from the master key (crypto/fallback-pepper.ts:
 * derived from it, or stored sealed under it after a rotation), so a copy of the database alone does
 * not allow an offline search of the 10^4..10^12 PINs. Comparison is
 * constant-time. Format: `scrypt$1$N$r$p$salt$hash` (base64).
 *
 * @example const hasher = new SecretHasher(await loadFallbackPepper(db, masterKey));
 *          const h = await hasher.hash('1234'); await hasher.verify('1234', h) // true
 */
export class SecretHasher {
  readonly #pepper: Buffer;
  readonly #fingerprintKey: Buffer;

  private readonly params: { N: number; r: number; p: number };
  constructor(pepper: Buffer, params: { N: number; r: number; p: number } = SCRYPT_PARAMS) {
    this.params = params;
    this.#pepper = Buffer.from(pepper);
    this.#fingerprintKey = Buffer.from(crypto.hkdfSync('sha256', this.#pepper, Buffer.alloc(0), 'wajah:fallback-fingerprint:v1', 32));
  }

  /**
   * A keyed fingerprint of `secret` within `scope` (HMAC-SHA256 under a key derived from the pepper, never
   * the key that feeds the hash), so the same PIN tried against many users can be counted without keeping
   * the PIN: without the server's key it cannot be searched, however small the PIN space.
   *
   * @example hasher.fingerprint(`${clientId}:pin`, '3915') // 'q1Zr…' (22 characters, 132 bits)
   */
  fingerprint(scope: string, secret: string): string {
    return crypto.createHmac('sha256', this.#fingerprintKey).update(`${scope}\0${secret.normalize('NFKC')}`, 'utf8').digest('base64url').slice(0, 22);
  }

  async hash(secret: string): Promise<string> {
    const salt = crypto.randomBytes(SALT_BYTES);
    const key = await scrypt(this.#keyed(secret), salt, this.params);
    const { N, r, p } = this.params;
    return ['scrypt', '1', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
  }

  async verify(secret: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 7 || parts[0] !== 'scrypt' || parts[1] !== '1') return false;
    const [N, r, p] = parts.slice(2, 5).map(Number);
    const salt = Buffer.from(parts[5], 'base64');
    const expected = Buffer.from(parts[6], 'base64');
    const actual = await scrypt(this.#keyed(secret), salt, { N, r, p });
    return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
  }

  #keyed(secret: string): Buffer {
    return crypto.createHmac('sha256', this.#pepper).update(secret.normalize('NFKC'), 'utf8').digest();
  }
}
