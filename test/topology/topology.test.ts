import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { dataFile } from '../helpers/face-fixtures.ts';
import { freePort } from '../helpers/ports.ts';
import { recordSkip } from '../helpers/skips.ts';

/**
 * The production topology of compose.yaml, as processes (no container engine runs on the test machine;
 * docs/operations.md): two Wajah instances on one PostgreSQL database and one Redis, behind Debian's
 * nginx running the shipped deploy/nginx.conf. Enroll through one instance, verify and identify through
 * the other; one webhook delivery per event whichever instance dispatches; an instance stopped, the
 * other keeps serving.
 */
const root = path.resolve(import.meta.dirname, '../..');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const REDIS = process.env.WAJAH_TEST_REDIS;
const ADMIN = 'topology-admin-token-0123456789';
const MASTER = 'b'.repeat(64);
const skip = !NGINX ? 'nginx is not installed (apt-get install nginx; .ci/run installs it)' : !REDIS || !backendNames().includes('postgres') ? 'needs PostgreSQL and Redis' : false;
if (skip && process.env.CI === 'true') throw new Error(`topology test cannot run under CI: ${skip}`);
if (skip) recordSkip('topology test', skip);


interface Instance {
  name: string;
  port: number;
  proc: ChildProcess;
  logs: string;
}

describe('topology: two instances, PostgreSQL, Redis, nginx in front', { skip }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-topology-'));
  let backend: Backend;
  const instances: Instance[] = [];
  let nginx: ChildProcess | null = null;
  let lb = '';
  let auth: Record<string, string> = {};
  const hooks: { event: string; id: string }[] = [];
  let receiver: http.Server;

  const start = (name: string, port: number, env: Record<string, string>): Instance => {
    const proc = spawn(process.execPath, ['src/server.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: String(port),
        HOST: '127.0.0.1',
        WAJAH_DATA_DIR: path.join(work, name),
        DATABASE_URL: backend.databaseUrl!,
        REDIS_URL: REDIS!,
        WAJAH_MASTER_KEY: MASTER,
        WAJAH_ADMIN_TOKEN: ADMIN,
        WAJAH_TRUST_PROXY: '1',
        WAJAH_WORKERS: '1',
        WAJAH_WEBHOOK_POLL_MS: '100',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const inst: Instance = { name, port, proc, logs: '' };
    proc.stdout!.on('data', (d) => (inst.logs += d));
    proc.stderr!.on('data', (d) => (inst.logs += d));
    return inst;
  };
  const ready = async (url: string, ms = 180_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  };
  const form = (file: string, fields: Record<string, string>) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append('image', new Blob([new Uint8Array(dataFile(file))], { type: 'image/jpeg' }), 'face.jpg');
    return f;
  };
  /**
   * One request through the load balancer, answered by the instance at `port`: nginx alternates between
   * the two (round robin), so a GET /healthz answered by the other one lines the next request up.
   */
  const via = async (port: number, url: string, init: RequestInit): Promise<Response> => {
    const target = `127.0.0.1:${port}`;
    for (let i = 0; i < 6; i++) {
      const probe = await fetch(`${lb}/healthz`);
      if (probe.headers.get('x-upstream') !== target) break;
    }
    const res = await fetch(`${lb}${url}`, init);
    assert.equal(res.headers.get('x-upstream'), target, `${url} answered by the intended instance`);
    return res;
  };

  before(async () => {
    backend = await createBackend('postgres');
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooks.push({ event: JSON.parse(body).event, id: String(req.headers['x-webhook-id']) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    // Both instances start at once on an empty database: the migrations must run once, not twice.
    const [p1, p2, pl] = [await freePort(), await freePort(), await freePort()];
    instances.push(start('wajah-1', p1, {}), start('wajah-2', p2, {}));
    const conf = fs
      .readFileSync(path.join(root, 'deploy/nginx.conf'), 'utf8')
      .replace('server wajah-1:8000', `server 127.0.0.1:${p1}`)
      .replace('server wajah-2:8000', `server 127.0.0.1:${p2}`)
      .replace('listen 8080;', `listen 127.0.0.1:${pl};`);
    assert.ok(conf.includes(`127.0.0.1:${p1}`) && conf.includes(`127.0.0.1:${p2}`) && conf.includes(`:${pl};`), 'deploy/nginx.conf has the expected upstream and listen lines');
    fs.mkdirSync(path.join(work, 'nginx/logs'), { recursive: true });
    fs.writeFileSync(path.join(work, 'nginx/nginx.conf'), conf);
    nginx = spawn(NGINX!, ['-p', path.join(work, 'nginx'), '-c', path.join(work, 'nginx/nginx.conf'), '-e', 'stderr', '-g', `daemon off; pid ${path.join(work, 'nginx/nginx.pid')};`], { stdio: ['ignore', 'inherit', 'inherit'] });
    lb = `http://127.0.0.1:${pl}`;
    for (const i of instances) assert.ok(await ready(`http://127.0.0.1:${i.port}`), `${i.name} became ready:\n${i.logs}`);
    assert.ok(await ready(lb, 20_000), 'the load balancer answers /readyz');
  });

  after(async () => {
    nginx?.kill('SIGTERM');
    for (const i of instances) i.proc.kill('SIGKILL');
    receiver?.close();
    await new Promise((r) => setTimeout(r, 300));
    await backend?.cleanup().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('the migrations ran once although both instances started together', async () => {
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: backend.databaseUrl! });
    await c.connect();
    try {
      const rows = (await c.query('SELECT name FROM kysely_migration ORDER BY name')).rows as { name: string }[];
      assert.equal(new Set(rows.map((r) => r.name)).size, rows.length);
      assert.ok(rows.length >= 7);
    } finally {
      await c.end();
    }
  });

  test('enrolled through one instance, verified and identified through the other', async () => {
    const [a, b] = instances as [Instance, Instance];
    const created = await fetch(`${lb}/api/v1/admin/clients/`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Topology', tier: 'enterprise' }) });
    assert.equal(created.status, 201, await created.clone().text());
    const c = (await created.json()) as { api_key: string; secret_key: string };
    auth = { authorization: `ApiKey ${c.api_key}:${c.secret_key}` };
    const hook = await fetch(`${lb}/api/v1/webhooks/endpoints/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/`, events: ['enrollment.completed'] }) });
    assert.equal(hook.status, 201, await hook.clone().text());
    for (const [id, name] of [['EMP1', 'Barack Obama'], ['EMP2', 'Joe Biden']]) {
      const u = await fetch(`${lb}/api/v1/clients/users/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ external_id: id, name }) });
      assert.equal(u.status, 201);
    }
    // Identification on instance B loads its index now, before the enrollments: they must reach it by sync.
    const warm = await via(b.port, '/api/v1/auth/authentication/identify/', { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/obama/obama_03.jpg', {}) });
    assert.equal(warm.status, 200, await warm.clone().text());
    const e1 = await via(a.port, '/api/v1/auth/enrollment/direct/', { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/obama/obama_01.jpg', { user_id: 'EMP1' }) });
    assert.equal(e1.status, 201, await e1.clone().text());
    const e2 = await via(a.port, '/api/v1/auth/enrollment/direct/', { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/biden/biden_01.jpg', { user_id: 'EMP2' }) });
    assert.equal(e2.status, 201);

    const verify = await via(b.port, '/api/v1/auth/authentication/verify/', { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/obama/obama_02.jpg', { user_id: 'EMP1' }) });
    assert.equal(verify.status, 200);
    assert.equal(((await verify.json()) as { result: { authenticated: boolean } }).result.authenticated, true);
    const deadline = Date.now() + 5000;
    let top = '';
    while (Date.now() < deadline && top !== 'EMP2') {
      const id = await via(b.port, '/api/v1/auth/authentication/identify/', { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/biden/biden_02.jpg', {}) });
      const body = (await id.json()) as { result: { matches?: { user_id: string }[]; user_id?: string } };
      top = body.result.user_id ?? body.result.matches?.[0]?.user_id ?? '';
      if (top !== 'EMP2') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(top, 'EMP2', 'instance B identifies a face enrolled through instance A');
  });

  test('each webhook is delivered once, though both instances run a dispatcher', async () => {
    const deadline = Date.now() + 10_000;
    while (hooks.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    const enrolled = hooks.filter((h) => h.event === 'enrollment.completed');
    assert.equal(enrolled.length, 2, JSON.stringify(hooks));
    assert.equal(new Set(enrolled.map((h) => h.id)).size, 2);
  });

  test('an instance stops (SIGTERM): the load balancer keeps serving through the other', async () => {
    const [a] = instances as [Instance, Instance];
    const exited = new Promise<number | null>((r) => a.proc.once('exit', (code) => r(code)));
    a.proc.kill('SIGTERM');
    assert.equal(await exited, 0, a.logs.slice(-2000));
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${lb}/api/v1/auth/authentication/verify/`, { method: 'POST', headers: auth, body: form('faces_extra/face_recognition/obama/obama_02.jpg', { user_id: 'EMP1' }) });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { result: { authenticated: boolean } }).result.authenticated, true);
    }
    assert.equal((await fetch(`${lb}/readyz`)).status, 200);
  });
});
