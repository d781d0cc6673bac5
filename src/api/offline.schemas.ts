import { Type } from '@sinclair/typebox';
import { DateTime } from './common.schemas.ts';

export const OfflineUserParams = Type.Object({
  user_id: Type.String({ minLength: 1, maxLength: 255, description: 'The user uuid or your external_id' }),
});

export const IssueOfflinePackageBody = Type.Object(
  {
    package_secret: Type.String({
      minLength: 12,
      maxLength: 1024,
      description:
        'Secret the device will hold (at least 12 characters; use a random one). The templates are encrypted under a key derived from it (scrypt); the server never stores it.',
    }),
    expires_in: Type.Optional(Type.Integer({ minimum: 60, maximum: 90 * 86400, default: 7 * 86400, description: 'Seconds until the package expires (default 7 days, max 90 days)' })),
    confidence_threshold: Type.Optional(Type.Number({ minimum: 0.5, maximum: 1, default: 0.8, description: 'Calibrated confidence a probe must reach offline (default 0.8 ≈ 0.1 % false accepts)' })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Recogniser id of the templates to include (default: the server's default model)" })),
  },
  { additionalProperties: false },
);

export const OfflinePackageSchema = Type.Object(
  {
    format: Type.Literal('wajah.offline-package.v1'),
    key_id: Type.String({ description: 'Which signing key signed (also inside the signed payload)' }),
    payload: Type.String({ description: 'base64url of the payload JSON (docs/offline.md)' }),
    signature: Type.String({ description: 'base64url Ed25519 signature over `${format}.${payload}`' }),
  },
  { description: 'A signed offline verification package: save it as the device’s package file' },
);

export const IssuedOfflinePackage = Type.Object(
  {
    package_id: Type.String({ format: 'uuid' }),
    client_id: Type.String({ format: 'uuid', description: 'The tenant the package belongs to: configure devices with it (verifyOffline `clientId`, `wajah offline verify --client-id`)' }),
    user_id: Type.String({ description: 'The external_id' }),
    model: Type.String(),
    template_count: Type.Integer(),
    issued_at: DateTime,
    expires_at: DateTime,
    key_id: Type.String(),
    issued_count: Type.Integer({ description: 'Offline packages issued for this user so far (audit trail, within retention)' }),
    package: OfflinePackageSchema,
  },
  { description: 'An issued offline verification package' },
);

export const OfflinePublicKey = Type.Object(
  {
    algorithm: Type.Literal('Ed25519'),
    key_id: Type.String(),
    pem: Type.String({ description: 'SPKI PEM' }),
    jwk: Type.Object({ kty: Type.Literal('OKP'), crv: Type.Literal('Ed25519'), x: Type.String(), kid: Type.String() }),
  },
  { description: 'The public key that verifies offline packages of this server' },
);

export const RecallOfflineBody = Type.Object(
  { user_id: Type.String({ minLength: 1, maxLength: 255, description: 'The user uuid or your external_id' }) },
  { additionalProperties: false },
);

export const OfflineRecall = Type.Object(
  {
    user_id: Type.String({ description: 'The external_id' }),
    user_uuid: Type.String({ format: 'uuid', description: 'The uuid the revocation list names (the package’s user.id)' }),
    revoked_before: DateTime,
  },
  { description: "A recall: the user's packages issued before revoked_before are refused by devices holding a newer revocation list" },
);

export const OfflineRevocationList = Type.Object(
  {
    client_id: Type.String({ format: 'uuid' }),
    issued_at: DateTime,
    key_id: Type.String(),
    revocation_count: Type.Integer(),
    list: Type.Object(
      {
        format: Type.Literal('wajah.offline-revocations.v1'),
        key_id: Type.String({ description: 'Which signing key signed (also inside the signed payload)' }),
        payload: Type.String({ description: 'base64url of the payload JSON {v, key_id, client_id, issued_at, covers_since, revocations: [{user_id, revoked_before}]}' }),
        signature: Type.String({ description: 'base64url Ed25519 signature over `${format}.${payload}`' }),
      },
      { description: 'The signed list: save it as the device’s revocation file (verifyOffline `revocations`, `wajah offline verify --revocations`)' },
    ),
  },
  { description: "The tenant's signed offline revocation list" },
);
