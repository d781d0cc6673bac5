/**
 * Quick load check of GET /api/clients/users/ (`npm run loadcheck`): starts the real server
 * (src/server.ts, no face engine) on the embedded PGlite database and on PostgreSQL, creates an
 * unlimited client with 50 users, then runs autocannon and prints requests/s and p95 latency.
 *
 *   npm run loadcheck -- --duration 10 --connections 10 [--backends pglite,postgres]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { createBackend, type Backend } from '../test/helpers/backends.ts';
import { localUrl, readRuntimeFile } from '../src/cli/runtime-file.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    backends: { type: 'string', default: 'pglite,postgres' },
    users: { type: 'string', default: '50' },
  },
});
const root = path.resolve(import.meta.dirname, '..');
const token = crypto.randomBytes(24).toString('hex');

interface Result {
  backend: string;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function startServer(backend: Backend, dataDir: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [path.join(root, 'src/server.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      WAJAH_DATA_DIR: dataDir,
      DATABASE_URL: backend.databaseUrl ?? '',
      REDIS_URL: '',
      WAJAH_WORKERS: '0',
      WAJAH_ADMIN_TOKEN: token,
      WAJAH_MASTER_KEY: crypto.randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 1200; i++) {
    const info = readRuntimeFile(dataDir);
    if (info) return { child, base: localUrl(info) };
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    await sleep(100);
  }
  throw new Error('server did not start');
}

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function run(name: Backend['name']): Promise<Result> {
  const backend = await createBackend(name);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-loadcheck-'));
  const { child, base } = await startServer(backend, dataDir);
  try {
    // Enterprise without calls_per_hour: unlimited, so the check measures the API, not the limiter.
    const client = await post(`${base}/admin/clients/`, { authorization: `Bearer ${token}` }, { name: 'loadcheck', tier: 'enterprise' });
    const auth = { authorization: `ApiKey ${client.api_key}:${client.secret_key}` };
    for (let i = 0; i < Number(values.users); i++) {
      await post(`${base}/clients/users/`, auth, { external_id: `U${i}`, name: `User ${i}`, email: `user${i}@example.com`, metadata: { i } });
    }
    const url = `${base}/clients/users/?page=1&page_size=20`;
    await autocannon({ url, headers: auth, connections: 4, duration: 2 }); // warm-up
    const latencies: number[] = [];
    const instance = autocannon({ url, headers: auth, connections: Number(values.connections), duration: Number(values.duration) });
    instance.on('response', (_c: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
    const result = await instance;
    latencies.sort((a, b) => a - b);
    return {
      backend: name,
      requests: result.requests.total,
      rps: Math.round(result.requests.average),
      p50: +percentile(latencies, 50).toFixed(1),
      p95: +percentile(latencies, 95).toFixed(1),
      p99: +percentile(latencies, 99).toFixed(1),
      errors: result.errors,
      non2xx: result.non2xx,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
    await backend.cleanup();
  }
}

const results: Result[] = [];
for (const b of values.backends.split(',').map((s) => s.trim()) as Array<Backend['name']>) {
  console.error(`loadcheck: ${b} …`);
  results.push(await run(b));
}
console.log(`GET /api/clients/users/?page=1&page_size=20 — ${values.connections} connections, ${values.duration} s, ${values.users} users, ${os.availableParallelism()} cores`);
console.table(results);
