import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { testDataDir } from '../../src/config/env.ts';
import { useTestApp } from '../helpers/app.ts';
import { createClient, quickBackend } from '../helpers/foundation.ts';

/**
 * The guide sends `options` (batch-process) and `frame_metadata` (process-frame) as JSON objects inside a
 * multipart body. Many clients label such a part with its type: Python requests
 * `files={'options': (None, json.dumps(o), 'application/json')}`, OkHttp's `@Part RequestBody`, Spring's JSON
 * `HttpEntity`, or a browser's `FormData.append('options', new Blob([json], { type: 'application/json' }))`,
 * which also gives the part a file name. Each must read as the same field sent as plain text.
 */
type RawPart = { name: string; body: Buffer | string; type?: string; filename?: string };

function rawMultipart(parts: RawPart[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----wajah-json-parts-7d1f';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`));
    chunks.push(Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('multipart parts typed application/json', () => {
  const t = useTestApp(quickBackend());
  const jpeg = readFileSync(path.join(testDataDir(), 'lfw/Ariel_Sharon/Ariel_Sharon_0030.jpg'));
  const frame: RawPart = { name: 'frames', body: jpeg, type: 'image/jpeg', filename: 'f.jpg' };

  async function batch(auth: string, options: RawPart) {
    const { payload, headers } = rawMultipart([frame, options]);
    return t().app.inject({ method: 'POST', url: '/api/auth/authentication/batch-process/', payload, headers: { ...headers, authorization: auth } });
  }

  test('batch-process reads `options` whether it is sent as text, as a typed part or as a JSON file part', async () => {
    const c = await createClient(t().app);
    const auth = `ApiKey ${c.api_key}:${c.secret_key}`;
    const options = JSON.stringify({ mode: 'verification', user_id: 'NOBODY-HERE' });
    for (const part of [
      { name: 'options', body: options },
      { name: 'options', body: options, type: 'application/json' },
      { name: 'options', body: options, type: 'application/json; charset=utf-8' },
      { name: 'options', body: options, type: 'application/json', filename: 'blob' },
    ]) {
      // The options were read: a verification naming a user the tenant does not have.
      const res = await batch(auth, part);
      assert.equal(res.statusCode, 404, `${JSON.stringify({ ...part, body: undefined })}: ${res.body}`);
      assert.equal(res.json().code, 'USER_NOT_FOUND');
    }
    // Without a user the verification is refused by name, so `mode` was read too.
    const noUser = await batch(auth, { name: 'options', body: '{"mode":"verification"}', type: 'application/json' });
    assert.equal(noUser.statusCode, 400, noUser.body);
    assert.match(noUser.json().message, /options\.user_id is required/);
  });

  test('a typed part that is not JSON, or a JSON file part over a text field\'s size, is a coded 400/413', async () => {
    const c = await createClient(t().app);
    const auth = `ApiKey ${c.api_key}:${c.secret_key}`;
    const broken = await batch(auth, { name: 'options', body: '{"mode":', type: 'application/json' });
    assert.equal(broken.statusCode, 400, broken.body);
    assert.equal(broken.json().code, 'INVALID_JSON');
    const huge = await batch(auth, { name: 'options', body: `{"pad":"${'x'.repeat(1024 * 1024)}"}`, type: 'application/json', filename: 'blob' });
    assert.equal(huge.statusCode, 413, huge.body.slice(0, 300));
    assert.equal(huge.json().code, 'PAYLOAD_TOO_LARGE');
    assert.equal(huge.json().details.field, 'options');
  });
});
