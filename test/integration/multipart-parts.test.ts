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

describe('multipart parts: every part is read or refused, never dropped', () => {
  const t = useTestApp(quickBackend());
  const jpeg = readFileSync(path.join(testDataDir(), 'lfw/Ariel_Sharon/Ariel_Sharon_0030.jpg'));
  const image = (name: string): RawPart => ({ name, body: jpeg, type: 'image/jpeg', filename: `${name}.jpg` });

  async function post(auth: string, url: string, parts: RawPart[]) {
    const { payload, headers } = rawMultipart(parts);
    return t().app.inject({ method: 'POST', url, payload, headers: { ...headers, authorization: auth } });
  }
  async function usage(clientId: string): Promise<number> {
    const rows = await t().container.database.db.selectFrom('auth_attempts').select('id').where('client_id', '=', clientId).execute();
    return rows.length;
  }

  test('a text field sent as a file, or a second image for a one-image field, is a 400 naming it', async () => {
    const c = await createClient(t().app);
    const auth = `ApiKey ${c.api_key}:${c.secret_key}`;
    const cases: Array<[string, RawPart[], string]> = [
      // As a file, `options` was dropped and the batch ran as an identification.
      ['/api/auth/authentication/batch-process/', [image('frames'), { name: 'options', body: '{"mode":"verification","user_id":"u1"}', type: 'application/octet-stream', filename: 'o.bin' }], 'options'],
      ['/api/auth/enrollment/direct/', [image('image'), { name: 'user_id', body: 'u1', type: 'text/plain', filename: 'id.txt' }], 'user_id'],
      ['/api/auth/enrollment/direct/', [{ name: 'user_id', body: 'u1' }, image('image'), { name: 'replace', body: 'true', type: 'image/jpeg', filename: 'r.jpg' }], 'replace'],
      // Two images for `image`: the first alone decided.
      ['/api/auth/authentication/verify/', [{ name: 'user_id', body: 'u1' }, image('image'), image('image')], 'image'],
    ];
    for (const [url, parts, field] of cases) {
      const res = await post(auth, url, parts);
      assert.equal(res.statusCode, 400, `${url} ${field}: ${res.body}`);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.equal(res.json().details.field, field);
    }
    // Repeatable image parts stay repeatable.
    const two = await post(auth, '/api/auth/authentication/batch-process/', [image('frames'), image('frames')]);
    assert.equal(two.statusCode, 200, two.body);
    assert.equal(two.json().total, 2);
  });

  test('batch enrollment user_ids: ids as sent or a 400, never made up; JSON nested past the limit is refused, not a 500', async () => {
    const c = await createClient(t().app);
    const auth = `ApiKey ${c.api_key}:${c.secret_key}`;
    for (const ids of ['[1]', '[null]', '[{"a":1}]', '[[[]]]', '[""]', `${'['.repeat(5000)}${']'.repeat(5000)}`]) {
      const res = await post(auth, '/api/auth/enrollment/batch/', [image('images'), { name: 'user_ids', body: ids }]);
      assert.equal(res.statusCode, 400, `${ids.slice(0, 20)}: ${res.body.slice(0, 200)}`);
      assert.equal(res.json().code, 'VALIDATION_ERROR');
      assert.equal(res.json().details.field?.split('.')[0], 'user_ids', res.body.slice(0, 200));
    }
    const deepOptions = await post(auth, '/api/auth/authentication/batch-process/', [image('frames'), { name: 'options', body: `${'{"a":'.repeat(40)}1${'}'.repeat(40)}` }]);
    assert.equal(deepOptions.statusCode, 400, deepOptions.body.slice(0, 200));
    assert.equal(deepOptions.json().details.max_depth, 32);
    // None of them was counted or run.
    assert.equal(await usage(c.client_id), 0);
    const status = await t().app.inject({ method: 'GET', url: '/api/core/status/', headers: { authorization: auth } });
    assert.equal(status.statusCode, 200);
  });

  test('too many files or text fields: 413 saying the limit', async () => {
    const c = await createClient(t().app);
    const auth = `ApiKey ${c.api_key}:${c.secret_key}`;
    const files = await post(auth, '/api/auth/authentication/batch-process/', Array.from({ length: 65 }, () => image('frames')));
    assert.equal(files.statusCode, 413, files.body);
    assert.equal(files.json().code, 'PAYLOAD_TOO_LARGE');
    assert.equal(files.json().details.max_images, 64);
    const fields = await post(auth, '/api/auth/authentication/identify/', [image('image'), ...Array.from({ length: 33 }, (_, i) => ({ name: `f${i}`, body: 'x' }))]);
    assert.equal(fields.statusCode, 413, fields.body);
    assert.equal(fields.json().details.max_fields, 32);
  });
});

