import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { testDataDir } from '../../src/config/env.ts';
import { ADMIN_TOKEN } from './app.ts';

/** A fixed template key so several containers in one test share it (never a real deployment's key). */
export const TEST_MASTER_KEY = 'a'.repeat(64);

/** Credentials of a fresh tenant created through the admin API. */
export interface Tenant {
  clientId: string;
  auth: string;
}

export async function createTenant(app: FastifyInstance, name = 'Face Test', tier = 'enterprise'): Promise<Tenant> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/admin/clients/',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: { name, tier },
  });
  if (res.statusCode !== 201) throw new Error(`create client: ${res.statusCode} ${res.body}`);
  const body = res.json() as { client_id: string; api_key: string; secret_key: string };
  return { clientId: body.client_id, auth: `ApiKey ${body.api_key}:${body.secret_key}` };
}

export async function createUser(app: FastifyInstance, t: Tenant, externalId: string, name = externalId, metadata: Record<string, unknown> = {}): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/clients/users/',
    headers: { authorization: t.auth, 'content-type': 'application/json' },
    payload: { external_id: externalId, name, metadata },
  });
  if (res.statusCode !== 201) throw new Error(`create user: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}

/** Bytes of a file under ../shared/data. */
export function dataFile(rel: string): Buffer {
  return fs.readFileSync(path.join(testDataDir(), rel));
}

export interface Part {
  name: string;
  /** A file part when `data` is bytes; a text field otherwise. */
  value: Buffer | string;
  filename?: string;
  type?: string;
}

/** A multipart/form-data payload built by the platform's own FormData encoder. */
export async function multipart(parts: Part[]): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const p of parts) {
    if (typeof p.value === 'string') form.append(p.name, p.value);
    else form.append(p.name, new Blob([new Uint8Array(p.value)], { type: p.type ?? 'image/jpeg' }), p.filename ?? `${p.name}.jpg`);
  }
  const req = new Request('http://local/', { method: 'POST', body: form });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { 'content-type': req.headers.get('content-type')! } };
}

/** POST a multipart form with the tenant's credentials (and a session token when given). */
export async function postForm(app: FastifyInstance, url: string, t: Tenant, parts: Part[], sessionToken?: string): Promise<LightMyRequestResponse> {
  const { payload, headers } = await multipart(parts);
  return app.inject({
    method: 'POST',
    url,
    payload,
    headers: { ...headers, authorization: t.auth, ...(sessionToken ? { 'x-session-token': sessionToken } : {}) },
  });
}

export async function postJson(app: FastifyInstance, url: string, t: Tenant, body: unknown, sessionToken?: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    payload: body as object,
    headers: { 'content-type': 'application/json', authorization: t.auth, ...(sessionToken ? { 'x-session-token': sessionToken } : {}) },
  });
}

/** identify.csv rows: path, identity, role (enroll | probe | probe_unknown). */
export function identifyList(): Array<{ path: string; identity: string; role: string }> {
  const lines = fs.readFileSync(path.join(testDataDir(), 'identify.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
  return lines.map((l) => {
    const [p, identity, role] = l.split(',');
    return { path: p, identity, role };
  });
}
