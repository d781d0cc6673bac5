import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient, quickBackend } from '../helpers/foundation.ts';

const doc = fs.readFileSync(path.join(import.meta.dirname, '../../docs/errors.md'), 'utf8');

describe('error registry', () => {
  test('every code in ERROR_CODES is documented in docs/errors.md with its status', () => {
    const rows = new Map([...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])]));
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      assert.ok(rows.has(code), `${code} is not documented in docs/errors.md`);
      assert.equal(rows.get(code), status, `${code}: docs say ${rows.get(code)}, registry says ${status}`);
    }
    for (const code of rows.keys()) assert.ok(code in ERROR_CODES, `docs/errors.md documents ${code}, which is not in the registry`);
  });
});

/** A multipart body by hand: [name, content, filename?] parts. */
function multipart(parts: Array<[string, Buffer | string, string?]>): { headers: Record<string, string>; payload: Buffer } {
  const b = 'wajahboundary';
  const chunks: Buffer[] = [];
  for (const [name, content, filename] of parts) {
    const head = filename
      ? `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/jpeg`
      : `Content-Disposition: form-data; name="${name}"`;
    chunks.push(Buffer.from(`--${b}\r\n${head}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${b}--\r\n`));
  return { headers: { 'content-type': `multipart/form-data; boundary=${b}` }, payload: Buffer.concat(chunks) };
}

describe('error shapes over HTTP', () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_BODY_LIMIT: '1024' } });

  test('a body over WAJAH_BODY_LIMIT is 413 PAYLOAD_TOO_LARGE', async () => {
    const c = await createClient(t().app);
    const res = await as(t().app, c, {
      method: 'POST',
      url: '/api/clients/users/',
      payload: { external_id: 'big', name: 'x'.repeat(2000) },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'PAYLOAD_TOO_LARGE');
  });

  test('a multipart body over WAJAH_BODY_LIMIT in total is 413, though each file is under it', async () => {
    // The per-file limit alone let 64 files of just under the limit each be read and held.
    const c = await createClient(t().app);
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(796, 1)]);
    const res = await as(t().app, c, { method: 'POST', url: '/api/auth/authentication/batch-process/', ...multipart([['frames', jpeg, 'a.jpg'], ['frames', jpeg, 'b.jpg']]) });
    assert.equal(res.statusCode, 413, res.body);
    assert.equal(res.json().code, 'PAYLOAD_TOO_LARGE');
    const one = await as(t().app, c, { method: 'POST', url: '/api/auth/authentication/batch-process/', ...multipart([['frames', jpeg, 'a.jpg']]) });
    assert.notEqual(one.statusCode, 413, 'one file under the limit is read');
  });

  test('broken JSON is 400 INVALID_JSON', async () => {
    const c = await createClient(t().app);
    const res = await as(t().app, c, { method: 'POST', url: '/api/clients/users/', headers: { 'content-type': 'application/json' }, payload: '{"external_id":' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'INVALID_JSON');
  });

  test('every user and admin route is in the OpenAPI document with a response schema', async () => {
    const res = await t().app.inject({ method: 'GET', url: '/api/openapi.json' });
    const paths = res.json().paths;
    for (const p of [
      '/api/v1/core/status/',
      '/api/v1/clients/users/',
      '/api/v1/clients/users/{user_id}/',
      '/api/v1/clients/users/{user_id}/deactivate/',
      '/api/v1/clients/users/{user_id}/activate/',
      '/api/v1/clients/users/{user_id}/export/',
      '/api/v1/admin/clients/',
      '/api/v1/admin/clients/{client_id}/',
      '/api/v1/admin/clients/{client_id}/keys/',
      '/api/v1/admin/keys/{key}/revoke/',
      '/api/v1/admin/keys/{key}/rotate/',
    ]) {
      assert.ok(paths[p], p);
      for (const op of Object.values(paths[p]) as Array<{ responses: Record<string, unknown>; tags: string[] }>) {
        assert.ok(op.tags?.length, `${p} has tags`);
        assert.ok(Object.keys(op.responses).some((s) => s.startsWith('2')), `${p} documents a success response`);
      }
    }
    const docs = await t().app.inject({ method: 'GET', url: '/api/docs/' });
    assert.ok([200, 302].includes(docs.statusCode));
  });
});

describe('multipart text fields', () => {
  const big = useTestApp(quickBackend(), { env: { WAJAH_BODY_LIMIT: String(4 * 1024 * 1024) } });

  test('a multipart text field over 1 MiB is 413, never validated cut short', async () => {
    const { app } = big();
    const c = await createClient(app);
    const metadata = JSON.stringify({ note: 'x'.repeat(1536 * 1024) });
    const res = await as(app, c, { method: 'POST', url: '/api/auth/authentication/verify/', ...multipart([['user_id', 'u1'], ['metadata', metadata]]) });
    assert.equal(res.statusCode, 413, res.body);
    assert.equal(res.json().code, 'PAYLOAD_TOO_LARGE');
    assert.equal(res.json().details.field, 'metadata');
  });
});
