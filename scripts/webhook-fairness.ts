// `npm run webhook-fairness`: tenant A's webhook delivery latency while tenant B has 50 endpoints
// that never answer (issue 9.8; target p95 ≤ 2 s). Prints numbers; asserts nothing.
// DATABASE_URL selects PostgreSQL (default: the embedded database in memory).
// Options: --events=N (A's events, default 20), --hanging=N (B's endpoints, default 50).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/env.ts';
import { createContainer } from '../src/container.ts';
import { buildApp } from '../src/app.ts';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const EVENTS = arg('events', 20);
const HANGING = arg('hanging', 50);
const TOKEN = 'fairness-bench-token-0123456789';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: TOKEN, WAJAH_WORKERS: '0', WAJAH_WEBHOOK_POLL_MS: '100', WAJAH_WEBHOOK_TIMEOUT_MS: '30000' });
const container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info() {}, warn() {}, error: console.error } });
const app = await buildApp(config, container);
await app.ready();
container.webhooks.dispatcher.start();

const arrivals: number[] = [];
const quick = http.createServer((req, res) => req.resume().on('end', () => (arrivals.push(Date.now()), res.writeHead(200).end('{}'))));
let hangingInFlight = 0;
const hang = http.createServer((req) => {
  hangingInFlight++;
  req.resume();
});
const listen = (s: http.Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const [quickPort, hangPort] = await Promise.all([listen(quick), listen(hang)]);

async function call(auth: string, method: 'POST', url: string, payload: object) {
  const res = await app.inject({ method, url, headers: { authorization: auth }, payload });
  if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}
async function tenant(name: string) {
  const c = await call(`Bearer ${TOKEN}`, 'POST', '/api/admin/clients/', { name, tier: 'enterprise' });
  return `ApiKey ${c.api_key}:${c.secret_key}`;
}
const a = await tenant('A');
const b = await tenant('B');
const hook = (url: string) => ({ url, events: ['user.created'], secret: 'fairness_secret_123456', retry_policy: { max_retries: 0 } });
await call(a, 'POST', '/api/webhooks/endpoints/', hook(`http://127.0.0.1:${quickPort}/a`));
for (let i = 0; i < HANGING; i++) await call(b, 'POST', '/api/webhooks/endpoints/', hook(`http://127.0.0.1:${hangPort}/b${i}`));
for (let i = 0; i < 3; i++) await call(b, 'POST', '/api/clients/users/', { external_id: `b${i}`, name: 'B' });
while (hangingInFlight === 0) await new Promise((r) => setTimeout(r, 10));

const latencies: number[] = [];
for (let i = 0; i < EVENTS; i++) {
  const before = arrivals.length;
  const sent = Date.now();
  await call(a, 'POST', '/api/clients/users/', { external_id: `a${i}`, name: 'A' });
  while (arrivals.length === before && Date.now() - sent < 60_000) await new Promise((r) => setTimeout(r, 5));
  latencies.push(arrivals.length > before ? arrivals.at(-1)! - sent : Infinity);
}
latencies.sort((x, y) => x - y);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
console.log(`database: ${container.database.dialect}; tenant B: ${HANGING} endpoints that never answer, ${3 * HANGING} deliveries due, ${hangingInFlight} in flight`);
console.log(`tenant A user.created delivery latency over ${EVENTS} events: p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${latencies.at(-1)} ms (target p95 ≤ 2000 ms)`);

hang.closeAllConnections();
quick.closeAllConnections();
hang.close();
quick.close();
await app.close();
await container.close();
