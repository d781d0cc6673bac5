import { Type } from '@sinclair/typebox';
import { DateTime, Nullable, PageQuery, PageSchema } from './common.schemas.ts';
import { CHALLENGES } from '../services/liveness.service.ts';

const Uri = Type.String({ minLength: 1, maxLength: 2000, description: 'absolute URL: https, http only for localhost, or a custom scheme for native apps; no fragment' });
const AuthMethod = Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('none')], {
  description: 'How the application authenticates at the token endpoint (none: public client, PKCE only)',
});
const Challenge = Type.Union(CHALLENGES.map((c) => Type.Literal(c)));

export const SsoClientBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  redirect_uris: Type.Array(Uri, { minItems: 1, maxItems: 20 }),
  post_logout_redirect_uris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
  token_endpoint_auth_method: Type.Optional(AuthMethod),
  liveness_challenges: Type.Optional(Type.Array(Challenge, { minItems: 1, maxItems: 4, description: 'challenges of the face sign-in, issued in random order (default blink, head_movement)' })),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: 'face sessions per sign-in before access_denied (default 3)' })),
});

export const SsoClientSchema = Type.Object({
  client_id: Type.String(),
  name: Type.String(),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  token_endpoint_auth_method: AuthMethod,
  liveness_challenges: Type.Array(Type.String()),
  max_attempts: Type.Integer(),
  created_at: DateTime,
});

export const SsoClientCreated = Type.Object({
  ...SsoClientSchema.properties,
  client_secret: Nullable(Type.String({ description: 'shown once; null for token_endpoint_auth_method none' })),
  issuer: Type.String({ description: 'the OpenID Provider issuer; discovery at {issuer}/.well-known/openid-configuration' }),
});

export const SsoClientPage = PageSchema(SsoClientSchema, 'Relying-party applications of the calling tenant');
export const SsoClientParams = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 100 }) });
export const SsoListQuery = Type.Object(PageQuery);
