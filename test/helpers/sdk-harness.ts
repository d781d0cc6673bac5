import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import { testDataDir } from '../../src/config/env.ts';
import { serializeBody, signBody } from '../../src/services/webhooks/signer.ts';
import { useTestApp } from './app.ts';
import { TEST_MASTER_KEY } from './face-fixtures.ts';
import { createClient, quickBackend } from './foundation.ts';

/**
 * What the PHP and Java client tests share: a real Wajah server (real face engine) on an ephemeral port
 * with two tenants, a webhook receiver, a flaky server for the retry policy, and a body signed by the
 * server's own signer. Each language's suite gets all of it through environment variables:
 *
 * - WAJAH_BASE_URL, WAJAH_API_KEY, WAJAH_SECRET_KEY; WAJAH_LIMITED_* (calls_per_hour 1); WAJAH_TEST_DATA
 * - WAJAH_RECEIVER_URL: any POST is recorded; `GET /captured` lists [{path, headers, body_base64}]
 * - WAJAH_FLAKY_URL: `/<name>/api/…` answers 503 SERVICE_BUSY (Retry-After: 1), then 429
 *   RATE_LIMIT_EXCEEDED (Retry-After: 1), then 200 `{status, attempts}`; under `/always-<name>/` 503
 *   (Retry-After: 0) every time; `GET /<name>/count` gives `{attempts}`
 * - WAJAH_SERVER_SIGNED_BODY (base64), WAJAH_SERVER_SIGNATURE, WAJAH_SERVER_SIGNING_SECRET
 */
export function useSdkHarness(label: string): () => NodeJS.ProcessEnv {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let env: NodeJS.ProcessEnv = {};
  const servers: http.Server[] = [];

  before(async () => {
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const tenant = await createClient(app, { name: `${label} client test`, tier: 'enterprise' });
    const limited = await createClient(app, { name: `${label} rate limited`, tier: 'basic', calls_per_hour: 1 });
    const receiver = await listen(receiverHandler(), servers);
    const flaky = await listen(flakyHandler(), servers);
    const secret = `whsec_${label.toLowerCase()}_client_test_0123456789`;
    const body = serializeBody({
      event: 'user.created',
      data: { user_id: 'EMP-ü', name: 'Zoë Ñandú 山田', email: null, metadata: { dept: 'R&D' }, created_at: '2024-01-01T12:00:00.000Z' },
      timestamp: '2024-01-01T12:00:00.000Z',
      webhook_id: '6f1c0000-0000-4000-8000-000000000000',
    });
    env = {
      WAJAH_BASE_URL: `${origin}/api`,
      WAJAH_API_KEY: tenant.api_key,
      WAJAH_SECRET_KEY: tenant.secret_key,
      WAJAH_LIMITED_API_KEY: limited.api_key,
      WAJAH_LIMITED_SECRET_KEY: limited.secret_key,
      WAJAH_TEST_DATA: testDataDir(),
      WAJAH_RECEIVER_URL: receiver,
      WAJAH_FLAKY_URL: flaky,
      WAJAH_SERVER_SIGNED_BODY: Buffer.from(body, 'utf8').toString('base64'),
      WAJAH_SERVER_SIGNATURE: signBody(body, secret),
      WAJAH_SERVER_SIGNING_SECRET: secret,
    };
  });
  after(async () => {
    // Keep-alive connections (the server's webhook dispatcher, the Java HttpClient) would hold close() open.
    await Promise.all(servers.map((s) => new Promise((r) => { s.close(r); s.closeAllConnections(); })));
  });
  return () => env;
}

function listen(handler: http.RequestListener, servers: http.Server[]): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function receiverHandler(): http.RequestListener {
  const captured: Array<{ path: string; headers: http.IncomingHttpHeaders; body_base64: string }> = [];
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/captured') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(captured));
        return;
      }
      captured.push({ path: req.url ?? '', headers: req.headers, body_base64: Buffer.concat(chunks).toString('base64') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  };
}

function flakyHandler(): http.RequestListener {
  const attempts = new Map<string, number>();
  return (req, res) => {
    const [, name = '', rest = ''] = /^\/([^/]+)\/(.*)$/.exec(req.url ?? '') ?? [];
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (rest === 'count') return json(200, { attempts: attempts.get(name) ?? 0 });
    const n = (attempts.get(name) ?? 0) + 1;
    attempts.set(name, n);
    if (name.startsWith('always-')) return json(503, { code: 'SERVICE_BUSY', message: 'busy', statusCode: 503 }, { 'retry-after': '0' });
    if (n === 1) return json(503, { code: 'SERVICE_BUSY', message: 'busy', statusCode: 503 }, { 'retry-after': '1' });
    if (n === 2) return json(429, { code: 'RATE_LIMIT_EXCEEDED', message: 'slow down', statusCode: 429 }, { 'retry-after': '1' });
    return json(200, { status: 'healthy', attempts: n });
  };
}

/** The first line of `cmd args` output, or null when the command is missing or fails. */
export function probe(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
}

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs a child process to completion, output captured (stdout and stderr interleaved). */
export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The fenced block that follows `<!-- name -->` in a README (the examples a test runs). */
export function readmeBlock(readme: string, name: string): string | null {
  const m = new RegExp(`<!-- ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(readme);
  return m ? m[1]! : null;
}
