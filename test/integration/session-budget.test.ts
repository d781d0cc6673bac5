import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { WsClient } from '../helpers/ws-client.ts';
import { useTestApp } from '../helpers/app.ts';
import { createClient, quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';

const FRAME = 'faces_extra/face_recognition/obama/obama_02.jpg';

describe('session budgets: frames per second per session and sessions per hour, apart from the hourly calls', () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let basic: Tenant;

  const callsLeft = async (who: Tenant) => Number((await t().app.inject({ method: 'GET', url: '/api/core/status/', headers: { authorization: who.auth } })).headers['x-ratelimit-remaining']);
  const session = async (who: Tenant) => {
    const res = await postJson(t().app, '/api/auth/authentication/create/', who, { mode: 'identification' });
    assert.equal(res.statusCode, 201, res.body);
    return res;
  };

  test('a session at 10 frames/s for 3 s on the basic tier: every frame answered, the hourly calls untouched', async () => {
    const { app } = t();
    basic = await createTenant(app, 'Budget basic', 'basic');
    await createUser(app, basic, 'EMP1', 'Barack Obama');
    const before = await callsLeft(basic);
    const created = await postJson(app, '/api/auth/enrollment/create/', basic, { user_id: 'EMP1', require_multiple_angles: true, timeout: 60 });
    assert.equal(created.statusCode, 201, created.body);
    const token = created.json().session_token as string;
    const frame = dataFile(FRAME);
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 30; i++) {
      // A camera loop: one frame every 100 ms, the next sent while earlier ones may still be processed.
      const wait = started + i * 100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const res = await postForm(app, '/api/auth/enrollment/process-frame/', basic, [{ name: 'frame', value: frame }], token);
      statuses.push(res.statusCode);
      assert.equal(res.headers['x-framelimit-limit'], '10');
      assert.equal(res.headers['x-ratelimit-remaining'], undefined, 'frames do not report or spend hourly calls');
    }
    assert.ok(statuses.every((s) => s === 200 || s === 422), statuses.join(','));
    // Two calls since `before`: the session's creation and this status call; 30 frames cost none.
    assert.equal(before - (await callsLeft(basic)), 2);
  });

  test('frames faster than the tier allows get 429 FRAME_RATE_EXCEEDED with Retry-After; another session is unaffected', async () => {
    const { app } = t();
    const a = (await session(basic)).json().session_token as string;
    const b = (await session(basic)).json().session_token as string;
    const frame = dataFile(FRAME);
    // 25 frames at once: even split across two one-second windows, at most 20 fit.
    const burst = await Promise.all(Array.from({ length: 25 }, () => postForm(app, '/api/auth/authentication/process-frame/', basic, [{ name: 'frame', value: frame }], a)));
    const limited = burst.filter((r) => r.statusCode === 429);
    assert.ok(limited.length >= 5, burst.map((r) => r.statusCode).join(','));
    const one = limited[0]!;
    assert.equal(one.json().code, 'FRAME_RATE_EXCEEDED');
    assert.equal(one.headers['retry-after'], '1');
    assert.equal(one.headers['x-framelimit-remaining'], '0');
    const other = await postForm(app, '/api/auth/authentication/process-frame/', basic, [{ name: 'frame', value: frame }], b);
    assert.notEqual(other.statusCode, 429, other.body);
  });

  test('sessions per hour: the basic tier starts 300, then SESSION_LIMIT_EXCEEDED; headers show the budget', async () => {
    const { app } = t();
    const tenant = await createTenant(app, 'Budget sessions', 'basic');
    const first = await session(tenant);
    assert.equal(first.headers['x-sessionlimit-limit'], '300');
    assert.equal(first.headers['x-sessionlimit-remaining'], '299');
    for (let i = 1; i < 300; i++) await session(tenant);
    const over = await postJson(app, '/api/auth/authentication/create/', tenant, { mode: 'identification' });
    assert.equal(over.statusCode, 429, over.body);
    assert.equal(over.json().code, 'SESSION_LIMIT_EXCEEDED');
    assert.ok(Number(over.headers['retry-after']) > 0);
    // Other calls still work: the session budget is not the call budget.
    assert.equal((await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: tenant.auth } })).statusCode, 200);
    // An enterprise tenant has no session budget.
    const big = await createTenant(app, 'Budget enterprise', 'enterprise');
    assert.equal((await session(big)).headers['x-sessionlimit-limit'], undefined);
  });

  // The attack: the frame budget is keyed by the token the caller sends and frames spared the hourly calls, so
  // a fresh invented token per request (each a body parse and a database lookup) was never limited.
  test('frames whose token opens no session are ordinary calls: invented tokens end in RATE_LIMIT_EXCEEDED', async () => {
    const { app } = t();
    const c = await createClient(app, { name: 'Budget invented', tier: 'basic', calls_per_hour: 10 });
    const tenant = { clientId: c.client_id, auth: c.auth };
    const frame = dataFile(FRAME);
    const answers = [];
    for (let i = 0; i < 40; i++) {
      const url = i % 2 ? '/api/auth/enrollment/process-frame/' : '/api/auth/authentication/process-frame/';
      const res = await postForm(app, url, tenant, [{ name: 'frame', value: frame }], `invented-${i}-${Math.random()}`);
      answers.push({ status: res.statusCode, code: res.json().code as string, remaining: res.headers['x-ratelimit-remaining'], retry: Number(res.headers['retry-after']) });
    }
    const limited = answers.filter((a) => a.status === 429).length;
    assert.equal(limited, 30, `${limited} of 40 invented tokens were limited (10 calls per hour)`);
    // Until the budget is spent the answer is unchanged (404 SESSION_NOT_FOUND), each one counted...
    assert.deepEqual(answers.slice(0, 10).map((a) => [a.status, a.code, a.remaining]), Array.from({ length: 10 }, (_, i) => [404, 'SESSION_NOT_FOUND', String(9 - i)]));
    // ...then the usual rate-limit answer, with Retry-After, for every further one.
    for (const a of answers.slice(10)) {
      assert.deepEqual([a.status, a.code], [429, 'RATE_LIMIT_EXCEEDED']);
      assert.ok(a.retry >= 1 && a.retry <= 3600, String(a.retry));
    }
  });

  test('expired and missing tokens count as calls too; a live session\'s frames still do not, even past the budget', async () => {
    const { app, container } = t();
    const c = await createClient(app, { name: 'Budget spent', tier: 'basic', calls_per_hour: 4 });
    const tenant = { clientId: c.client_id, auth: c.auth };
    const frame = dataFile(FRAME);
    await createUser(app, tenant, 'EMP2', 'Barack Obama');
    const enrollment = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: 'EMP2', require_multiple_angles: true, timeout: 60 });
    assert.equal(enrollment.statusCode, 201, enrollment.body);
    const expired = (await session(tenant)).json() as { session_id: string; session_token: string };
    await container.database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 60_000) }).where('id', '=', expired.session_id).execute();
    const send = (token?: string) => postForm(app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: frame }], token);

    const first = await send(expired.session_token);
    assert.deepEqual([first.statusCode, first.json().code, first.headers['x-ratelimit-remaining']], [410, 'SESSION_EXPIRED', '0']);
    for (const res of [await send(expired.session_token), await send(undefined)]) {
      assert.deepEqual([res.statusCode, res.json().code], [429, 'RATE_LIMIT_EXCEEDED'], res.body);
      assert.ok(Number(res.headers['retry-after']) >= 1);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: tenant.auth } })).statusCode, 429);

    // The hourly budget is spent, yet the live session's frames are answered: they are not calls.
    const token = enrollment.json().session_token as string;
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      const wait = started + i * 100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const res = await postForm(app, '/api/auth/enrollment/process-frame/', tenant, [{ name: 'frame', value: frame }], token);
      assert.ok(res.statusCode === 200 || res.statusCode === 422, `${res.statusCode} ${res.body}`);
      assert.equal(res.headers['x-ratelimit-remaining'], undefined);
    }
  });

  test('a WebSocket liveness frame starts its session from the same budget: counted, and refused past it', async () => {
    // The attack: each liveness frame with other options (or after a decision) starts a session row;
    // over the WebSocket they were never counted, so a basic tenant opened them without end.
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;
    const tenant = await createTenant(app, 'Budget ws', 'basic');
    const [api_key, secret_key] = tenant.auth.replace(/^ApiKey /, '').split(':');
    const ws = await WsClient.connect(url);
    ws.send({ type: 'authenticate', api_key, secret_key });
    assert.equal((await ws.next()).type, 'authenticated');
    const frame = `data:image/jpeg;base64,${dataFile(FRAME).toString('base64')}`;
    const liveFrame = (threshold: number) => {
      ws.send({ type: 'process_frame', frame, timestamp: threshold, options: { mode: 'identification', require_liveness: true, confidence_threshold: threshold } });
      return ws.next();
    };
    // Two option sets: two liveness sessions from the WebSocket.
    assert.equal((await liveFrame(0.5)).type, 'recognition_result');
    assert.equal((await liveFrame(0.6)).type, 'recognition_result');
    const next = await session(tenant);
    assert.equal(next.headers['x-sessionlimit-remaining'], '297', 'the two WebSocket sessions were counted');
    for (let i = 0; i < 297; i++) await session(tenant);
    const refused = await liveFrame(0.7);
    assert.equal(refused.type, 'error');
    assert.equal((refused as { code: string }).code, 'SESSION_LIMIT_EXCEEDED');
    ws.close();
  });
});
