// The privacy promise (S1, docs/foundation.md and docs/fallbacks.md) read as an auditor with the database and the
// debug logs: after real flows (enrollment, verification by data URL, an enrollment session left open, a fallback
// PIN, a webhook secret, an SSO client, an offline package, a review photo kept for its decision), no table holds a
// secret it was given, an image's bytes or an embedding in the clear, and no log line carries a secret, a header
// credential, a request body or image data. A guard over the whole flow: the pieces are tested where they live.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import { ADMIN_TOKEN } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const BIDEN = 'faces_extra/face_recognition/biden/biden_01.jpg';
const BIDEN2 = 'faces_extra/face_recognition/biden/biden_02.jpg';
const dataUrl = (file: string) => `data:image/jpeg;base64,${dataFile(file).toString('base64')}`;

describe('privacy at rest and in the logs [pglite]', () => {
  let app: FastifyInstance;
  let container: Container;
  const logs: string[] = [];
  before(async () => {
    const config = loadConfig({ LOG_LEVEL: 'debug', WAJAH_ADMIN_TOKEN: ADMIN_TOKEN, WAJAH_WORKERS: '1', WAJAH_MASTER_KEY: TEST_MASTER_KEY });
    container = await createContainer(config, { engine: true, pgliteDir: 'memory://', log: { info: () => {}, warn: () => {}, error: (m) => logs.push(m) } });
    app = await buildApp(config, container, { logStream: { write: (line) => void logs.push(line) } });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await container?.close();
  });

  test('after the flows, no table and no log line holds a secret, an image or an embedding in the clear', async () => {
    const tenant: Tenant = await createTenant(app, 'Privacy audit');
    const [apiKey, apiSecret] = tenant.auth.slice('ApiKey '.length).split(':');
    const secrets: Record<string, string> = { admin: ADMIN_TOKEN, api_secret: apiSecret };
    await createUser(app, tenant, 'OBAMA', 'Barack Obama');
    await createUser(app, tenant, 'BIDEN', 'Joe Biden');
    let res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'OBAMA' }, { name: 'image', value: dataFile(OBAMA) }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(res.statusCode, 201, res.body);
    res = await postJson(app, '/api/auth/authentication/verify/', tenant, { user_id: 'OBAMA', image: dataUrl(OBAMA2) });
    assert.equal(res.json().result.authenticated, true, res.body);

    // An enrollment session with a frame, left open: its state holds that frame's embedding.
    res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'BIDEN' });
    assert.equal(res.statusCode, 201, res.body);
    secrets.session_token = res.json().session_token;
    res = await postJson(app, '/api/auth/enrollment/process-frame/', tenant, { frame: dataUrl(BIDEN) }, secrets.session_token);
    assert.equal(res.statusCode, 200, res.body);

    secrets.pin = '58203917';
    res = await app.inject({ method: 'PUT', url: '/api/clients/users/OBAMA/fallback/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { type: 'pin', secret: secrets.pin } });
    assert.equal(res.statusCode, 200, res.body);
    res = await postJson(app, '/api/auth/authentication/fallback/', tenant, { user_id: 'OBAMA', pin: secrets.pin });
    assert.equal(res.statusCode, 200, res.body);
    secrets.wrong_pin = '91730264';
    res = await postJson(app, '/api/auth/authentication/fallback/', tenant, { user_id: 'OBAMA', pin: secrets.wrong_pin });
    assert.equal(res.statusCode, 401, res.body);

    secrets.webhook_secret = 'whsec-privacy-audit-0123456789abcdef';
    res = await postJson(app, '/api/webhooks/endpoints/', tenant, { url: 'http://127.0.0.1:9/hook', events: ['user.created'], secret: secrets.webhook_secret });
    assert.equal(res.statusCode, 201, res.body);
    res = await postJson(app, '/api/sso/clients/', tenant, { name: 'Portal', redirect_uris: ['https://portal.example.org/cb'] });
    assert.equal(res.statusCode, 201, res.body);
    secrets.sso_client_secret = res.json().client_secret;
    secrets.package_secret = 'offline-device-secret-42-xyz';
    res = await postJson(app, '/api/clients/users/OBAMA/offline-package/', tenant, { package_secret: secrets.package_secret });
    assert.equal(res.statusCode, 201, res.body);

    // A review photo stays (sealed) until the decision; one viewed through the audited endpoint.
    res = await postJson(app, '/api/auth/enrollment/review/', tenant, { user_id: 'BIDEN', reason: 'cannot enroll', images: [dataUrl(BIDEN2)] });
    assert.equal(res.statusCode, 201, res.body);
    const review = res.json();
    res = await app.inject({ method: 'GET', url: `/api/reviews/${review.id}/photos/${review.photos[0].id}/`, headers: { authorization: tenant.auth } });
    assert.equal(res.statusCode, 200);
    // Secrets in a query string (a form submitted before its script bound it) and a wrong secret in the header.
    await app.inject({ method: 'GET', url: `/api/clients/users/?secret_key=${apiSecret}&token=${secrets.session_token}`, headers: { authorization: tenant.auth } });
    await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${apiKey}:wrong-secret-value-0123` } });

    res = await app.inject({ method: 'GET', url: '/api/clients/users/OBAMA/export/', headers: { authorization: tenant.auth } });
    const embedding = Float32Array.from(res.json().face_templates[0].embedding as number[]);
    await container.foundation.audit.flush();

    // Every table, every column: text as it is stored, bytea as bytes.
    const db = container.database.db;
    const tables = (await sql<{ t: string }>`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`.execute(db)).rows.map((r) => r.t);
    const images = [OBAMA, OBAMA2, BIDEN, BIDEN2].map((f) => dataFile(f).subarray(0, 48));
    const embeddingBytes = Buffer.from(embedding.buffer);
    const embeddingWindows = [0, 128, 1024].map((at) => embeddingBytes.subarray(at, at + 16));
    const embeddingText = [embedding[0], embedding[1]].map((v) => String(v).slice(0, 9));
    const findings: string[] = [];
    let bytea = 0;
    for (const table of tables) {
      const { rows } = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(db);
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          const where = `${table}.${column}`;
          if (value instanceof Uint8Array) {
            bytea++;
            const b = Buffer.from(value);
            for (const img of images) if (b.includes(img)) findings.push(`${where}: image bytes`);
            for (const w of embeddingWindows) if (b.includes(w)) findings.push(`${where}: embedding bytes`);
            for (const [name, s] of Object.entries(secrets)) if (b.includes(Buffer.from(s))) findings.push(`${where}: ${name}`);
            continue;
          }
          const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
          for (const [name, s] of Object.entries(secrets)) if (text.includes(s)) findings.push(`${where}: ${name}`);
          if (/data:image|\/9j\/4/.test(text)) findings.push(`${where}: image data`);
          if (text.includes(embeddingBytes.subarray(0, 24).toString('base64').slice(0, 24))) findings.push(`${where}: embedding base64`);
          for (const f of embeddingText) if (f.length > 6 && text.includes(f)) findings.push(`${where}: embedding value ${f}`);
        }
      }
    }
    assert.ok(bytea >= 5, `sealed columns were looked at (${bytea})`);
    assert.deepEqual(findings, [], 'nothing in the clear at rest');

    const log = logs.join('\n');
    assert.ok(logs.length > 20, 'debug logs were captured');
    const logFindings = Object.entries(secrets).filter(([, s]) => log.includes(s)).map(([name]) => name);
    for (const marker of ['data:image', '/9j/4', 'ApiKey ', 'Bearer ', 'x-session-token', '"body"']) if (log.includes(marker)) logFindings.push(marker);
    assert.deepEqual(logFindings, [], 'nothing secret or personal in the logs');
  });
});
