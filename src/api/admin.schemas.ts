import { Type } from '@sinclair/typebox';
import { MAX_RETENTION_DAYS } from '../services/retention.service.ts';
import { DateTime, Nullable, NullableInteger, PageQuery, PageSchema } from './common.schemas.ts';

export const TierSchema = Type.Union([Type.Literal('basic'), Type.Literal('premium'), Type.Literal('enterprise')]);
const Cidrs = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 256, description: 'IPv4/IPv6 addresses or CIDRs; empty = any address' });
const Limit = NullableInteger({ minimum: 0, maximum: 2_147_483_647, description: 'Overrides the tier default; null = tier default (unlimited for enterprise)' });
const Settings = Type.Object(
  {
    store_photos: Type.Optional(Type.Boolean()),
    retention_days: Type.Optional(NullableInteger({ minimum: 1, maximum: MAX_RETENTION_DAYS, description: 'Days audit entries and attempts are kept (at most 100 years); null = for good' })),
  },
  { additionalProperties: true },
);

export const ClientParams = Type.Object({ client_id: Type.String({ maxLength: 64 }) });
export const KeyParams = Type.Object({ key: Type.String({ maxLength: 128 }) });

export const CreateClientBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  tier: TierSchema,
  max_users: Type.Optional(Limit),
  calls_per_hour: Type.Optional(Limit),
  ip_allowlist: Type.Optional(Cidrs),
  settings: Type.Optional(Settings),
}, { additionalProperties: false });

export const UpdateClientBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  tier: Type.Optional(TierSchema),
  max_users: Type.Optional(Limit),
  calls_per_hour: Type.Optional(Limit),
  ip_allowlist: Type.Optional(Cidrs),
  settings: Type.Optional(Settings),
  is_active: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const CreateKeyBody = Type.Object({
  name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  ip_allowlist: Type.Optional(Cidrs),
  expires_at: Type.Optional(Nullable(DateTime)),
});

export const UpdateKeyBody = Type.Object({
  name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  ip_allowlist: Type.Optional(Cidrs),
});

export const RotateKeyBody = Type.Object({
  grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86400, description: 'Default WAJAH_KEY_GRACE_SECONDS (24 h)' })),
});

export const KeySchema = Type.Object({
  key: Type.String(),
  name: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expiring'), Type.Literal('expired'), Type.Literal('revoked')]),
  ip_allowlist: Type.Array(Type.String()),
  created_at: DateTime,
  expires_at: Nullable(DateTime),
  revoked_at: Nullable(DateTime),
  last_used_at: Nullable(DateTime),
  replaced_by: Nullable(Type.String()),
});

export const CredentialsSchema = Type.Object(
  {
    client_id: Type.String({ format: 'uuid' }),
    api_key: Type.String(),
    secret_key: Type.String({ description: 'Shown once; only its hash is stored' }),
    tier: TierSchema,
    name: Type.String(),
  },
  { description: 'New credentials' },
);

export const RotatedSchema = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  api_key: Type.String(),
  secret_key: Type.String(),
  tier: TierSchema,
  name: Type.String(),
  replaces: Type.String({ description: 'The old key' }),
  old_key_expires_at: DateTime,
});

export const ClientSchema = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  tier: TierSchema,
  max_users: Nullable(Type.Integer()),
  calls_per_hour: Nullable(Type.Integer()),
  limits: Type.Object({ max_users: Nullable(Type.Integer()), calls_per_hour: Nullable(Type.Integer()) }),
  ip_allowlist: Type.Array(Type.String()),
  settings: Settings,
  is_active: Type.Boolean(),
  created_at: DateTime,
  updated_at: DateTime,
  users_count: Type.Optional(Type.Integer()),
  keys: Type.Optional(Type.Array(KeySchema)),
});

export const ClientPage = PageSchema(ClientSchema, 'A page of clients');
export const ClientListQuery = Type.Object({ ...PageQuery });
