import type { ClientSettings, Tier } from '../db/schema.ts';

/**
 * What the API-key authentication hook (auth.plugin.ts) attaches to a request.
 * Routes read it as `request.client` after `preHandler: app.authenticateClient`.
 */
export interface ClientContext {
  id: string;
  name: string;
  tier: Tier;
  settings: ClientSettings;
  /** The api_keys.id used for this request (for audit). */
  apiKeyId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    client: ClientContext | null;
  }
}
