import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor as waitUntil, type Check } from '../helpers/wait.ts';

/**
 * Webhook delivery across a real crash: the server runs as a child process (`node src/server.ts`) and is
 * killed with SIGKILL (no shutdown hook runs, nothing is flushed or handed back) at the worst moments:
 * after the event is committed but before it is fanned out, while the receiver is still answering, and
 * after the receiver answered 2xx but before the delivery was recorded. The next start must deliver
 * every event, with the same X-Webhook-Id, X-Event-Id, body and signature (docs/webhooks.md, "At least once").
 */

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'webhook-crash-admin-token-0123456789';
const SECRET = 'webhook_secret_key_123';
/** Per-attempt deadline of the child; the claim lease is this + 30 s (dispatcher.ts). */
const TIMEOUT_MS = 1500;

interface Server {
  child: ChildProcess;
  log: { text: string };
  exited: Promise<number | null>;
  port: number;
}

/** Starts `node src/server.ts` on the embedded database in `dataDir`; resolves once it logged `ready:`. */
async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<Server> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    WAJAH_DATA_DIR: dataDir,
    WAJAH_ADMIN_TOKEN: TOKEN,
    WAJAH_WORKERS: '0',
    WAJAH_WEBHOOK_POLL_MS: '100',
    WAJAH_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  };
  delete childEnv.DATABASE_URL;
  delete childEnv.REDIS_URL;
  const child = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = { text: '' };
  child.stdout!.on('data', (c: Buffer) => (log.text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log.text += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = Date.now() + 120_000;
  while (!/"msg":"ready: Wajah .* on http/.test(log.text) && child.exitCode === null && child.signalCode === null && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(log.text, /"msg":"ready: Wajah .* on http/, log.text.slice(-3000));
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(log.text)![1]);
  return { child, log, exited, port };
}

async function kill9(s: Server): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await s.exited;
}

async function api(s: Server, method: string, url: string, auth: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${s.port}${url}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

interface Got {
  headers: http.IncomingHttpHeaders;
  raw: string;
}

/** A receiver on 127.0.0.1 whose behaviour per request is `onRequest`. */
class Receiver {
  readonly got: Got[] = [];
  onRequest: (got: Got, res: http.ServerResponse) => void = (_g, res) => res.writeHead(200).end('{"received":true}');
  readonly #server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got = { headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') };
      this.got.push(got);
      this.onRequest(got, res);
    });
  });
  port = 0;
  async listen(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }
  url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

const waitFor = <T>(what: string, fn: Check<T>, timeoutMs = 15_000) => waitUntil(what, fn, timeoutMs, 50);

const sign = (raw: string) => `sha256=${crypto.createHmac('sha256', SECRET).update(raw).digest('hex')}`;

describe('webhook delivery survives SIGKILL', () => {
  let dataDir: string;
  let receiver: Receiver;
  let server: Server | undefined;
  let auth = '';

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-webhook-crash-'));
    receiver = await new Receiver().listen();
  });
  after(async () => {
    if (server) await kill9(server);
    await receiver.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function setUp(s: Server, events = ['user.created']): Promise<string> {
    const c = await fetch(`http://127.0.0.1:${s.port}/api/admin/clients/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `Crash ${crypto.randomUUID().slice(0, 8)}`, tier: 'basic' }),
    });
    assert.equal(c.status, 201);
    const client = (await c.json()) as { api_key: string; secret_key: string };
    auth = `ApiKey ${client.api_key}:${client.secret_key}`;
    const ep = await api(s, 'POST', '/api/webhooks/endpoints/', auth, { url: receiver.url(), events, secret: SECRET, retry_policy: { max_retries: 5, backoff_strategy: 'fixed', retry_delay: 0.2 } });
    assert.equal(ep.status, 201, JSON.stringify(ep.json));
    return ep.json.id;
  }

  async function createUser(s: Server, externalId: string): Promise<void> {
    const r = await api(s, 'POST', '/api/clients/users/', auth, { external_id: externalId, name: externalId });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }

  const forUser = (id: string) => receiver.got.filter((g) => JSON.parse(g.raw).data?.user_id === id);

  test('an event committed by an API-only instance that is killed is delivered by the next start', async () => {
    server = await startServer(dataDir, { WAJAH_WEBHOOKS: '0' });
    await setUp(server);
    await createUser(server, 'EMP-OUTBOX');
    await kill9(server);
    assert.equal(forUser('EMP-OUTBOX').length, 0);
    server = await startServer(dataDir);
    const [got] = await waitFor('the delivery', () => forUser('EMP-OUTBOX').length === 1 && forUser('EMP-OUTBOX'));
    assert.equal(got!.headers['x-signature'], sign(got!.raw));
    await kill9(server);
    server = undefined;
  });

  test('killed while the receiver is still answering: sent again after the claim lease, same ids, body and signature', async () => {
    server = await startServer(dataDir);
    await setUp(server);
    const victim = server;
    // The receiver holds the request; the server dies before it answers.
    receiver.onRequest = (g, res) => {
      if (JSON.parse(g.raw).data?.user_id === 'EMP-HANG') {
        void kill9(victim).then(() => res.writeHead(200).end('{}'));
      } else res.writeHead(200).end('{}');
    };
    await createUser(server, 'EMP-HANG');
    await waitFor('the server killed', () => victim.exited.then(() => true));
    receiver.onRequest = (_g, res) => res.writeHead(200).end('{}');
    const t0 = Date.now();
    server = await startServer(dataDir);
    await waitFor('the second attempt', () => forUser('EMP-HANG').length === 2, TIMEOUT_MS + 30_000 + 20_000);
    const [first, second] = forUser('EMP-HANG');
    assert.equal(second!.headers['x-webhook-id'], first!.headers['x-webhook-id']);
    assert.equal(second!.headers['x-event-id'], first!.headers['x-event-id']);
    assert.equal(second!.raw, first!.raw);
    assert.equal(second!.headers['x-signature'], sign(second!.raw));
    console.log(`re-sent ${Date.now() - t0} ms after restart`);
    await kill9(server);
    server = undefined;
  });

  test('killed after the receiver answered 2xx, before the delivery was recorded: sent again, deduplicable', async () => {
    server = await startServer(dataDir);
    await setUp(server);
    const victim = server;
    receiver.onRequest = (g, res) => {
      res.writeHead(200).end('{}');
      if (JSON.parse(g.raw).data?.user_id === 'EMP-ACKED') victim.child.kill('SIGKILL');
    };
    await createUser(server, 'EMP-ACKED');
    await victim.exited;
    receiver.onRequest = (_g, res) => res.writeHead(200).end('{}');
    server = await startServer(dataDir);
    await waitFor('the second attempt', () => forUser('EMP-ACKED').length === 2, TIMEOUT_MS + 30_000 + 20_000);
    const [first, second] = forUser('EMP-ACKED');
    assert.equal(second!.headers['x-webhook-id'], first!.headers['x-webhook-id']);
    assert.equal(second!.raw, first!.raw);
    const logs = await waitFor('delivered once in the log', async () => {
      const page = (await api(server!, 'GET', '/api/webhooks/logs/', auth)).json;
      return page.results[0]?.status === 'delivered' && page;
    });
    assert.equal(logs.count, 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(forUser('EMP-ACKED').length, 2, 'never after the recorded 2xx');
    await kill9(server);
    server = undefined;
  });
});
