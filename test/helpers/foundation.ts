import type { FastifyInstance, InjectOptions } from 'fastify';
import { ADMIN_TOKEN } from './app.ts';
import { backendNames } from './backends.ts';

export interface TestClient {
  client_id: string;
  api_key: string;
  secret_key: string;
  tier: string;
  auth: string;
}

export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Creates a client through the admin API; `auth` is the ready Authorization header. */
export async function createClient(app: FastifyInstance, body: Record<string, unknown> = {}): Promise<TestClient> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/admin/clients/',
    headers: adminHeaders,
    payload: { name: 'Acme', tier: 'basic', ...body },
  });
  if (res.statusCode !== 201) throw new Error(`create client: ${res.statusCode} ${res.body}`);
  const c = res.json();
  return { ...c, auth: `ApiKey ${c.api_key}:${c.secret_key}` };
}

/** app.inject with the client's credentials. */
export function as(app: FastifyInstance, client: { auth: string }, opts: InjectOptions) {
  return app.inject({ ...opts, headers: { authorization: client.auth, ...(opts.headers ?? {}) } });
}

/** For suites that test one behaviour, not the storage: PostgreSQL when available (it starts in
 * milliseconds; an embedded database takes seconds on a loaded machine), else the embedded one. */
export function quickBackend(): 'pglite' | 'postgres' {
  return backendNames().includes('postgres') ? 'postgres' : 'pglite';
}
