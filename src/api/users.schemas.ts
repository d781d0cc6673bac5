import { Type } from '@sinclair/typebox';
import { DateTime, Nullable, PageQuery, PageSchema } from './common.schemas.ts';

const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form data (department, role, …)' });

export const UserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    external_id: Type.String(),
    name: Type.String(),
    email: Nullable(Type.String()),
    metadata: Metadata,
    is_active: Type.Boolean(),
    created_at: DateTime,
    updated_at: DateTime,
    enrollments_count: Type.Integer(),
    last_authentication: Nullable(DateTime),
  },
  { description: 'A user' },
);

export const UserParams = Type.Object({
  user_id: Type.String({ minLength: 1, maxLength: 255, description: 'The user uuid or your external_id' }),
});

export const CreateUserBody = Type.Object({
  external_id: Type.String({ minLength: 1, maxLength: 255, description: 'Your identifier, unique per client' }),
  name: Type.String({ minLength: 1, maxLength: 255 }),
  email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 320 }))),
  metadata: Type.Optional(Metadata),
}, { additionalProperties: false });

export const UpdateUserBody = Type.Object(
  {
    external_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 320 }))),
    metadata: Type.Optional(Metadata),
    is_active: Type.Optional(Type.Boolean()),
  },
  { description: 'Fields given are replaced (metadata as a whole); absent fields are kept', additionalProperties: false },
);

export const ListUsersQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive match on name or email' })),
  is_active: Type.Optional(Type.Boolean()),
  has_enrollment: Type.Optional(Type.Boolean({ description: 'Only users with (true) or without (false) a face enrollment' })),
});

export const UserPage = PageSchema(UserSchema, 'A page of users');

export const UserExport = Type.Object(
  {
    format: Type.String(),
    exported_at: DateTime,
    user: UserSchema,
    enrollments: Type.Array(Type.Any()),
    face_templates: Type.Array(Type.Any()),
    face_photos: Type.Array(Type.Any()),
    authentication_attempts: Type.Array(Type.Any()),
    events: Type.Array(Type.Any()),
    audit_logs: Type.Array(Type.Any()),
  },
  { additionalProperties: true, description: 'Everything held on the user (portability)' },
);
