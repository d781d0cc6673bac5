#!/usr/bin/env node
// `npm test`: runs every *.test.ts (unit tests next to the code, integration tests in test/) with
// node's test runner in one process tree, so there is one closing summary. Integration tests loop
// over the embedded database and a real PostgreSQL server; Redis-backed tests use REDIS_URL or
// redis://127.0.0.1:6379. Where a server is missing, its tests are skipped with a notice, except
// under CI=true, where that is an error.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...findTests(p));
    } else if (entry.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function reachable(url, fallbackPort) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const socket = net.connect({ host: u.hostname, port: Number(u.port || fallbackPort) });
    socket.setTimeout(1500);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

const env = { ...process.env };
env.WAJAH_TEST_POSTGRES ||= 'postgres://postgres@127.0.0.1:5432/postgres';
env.WAJAH_TEST_REDIS ||= process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ci = process.env.CI === 'true';
const pgUp = await reachable(env.WAJAH_TEST_POSTGRES, 5432);
const redisUp = await reachable(env.WAJAH_TEST_REDIS, 6379);
if (!pgUp) {
  if (ci) { console.error(`PostgreSQL not reachable at ${env.WAJAH_TEST_POSTGRES} (required under CI)`); process.exit(1); }
  console.warn(`! PostgreSQL not reachable at ${env.WAJAH_TEST_POSTGRES}: integration tests run on the embedded database only`);
  env.WAJAH_TEST_BACKENDS = 'pglite';
}
if (!redisUp) {
  if (ci) { console.error(`Redis not reachable at ${env.WAJAH_TEST_REDIS} (required under CI)`); process.exit(1); }
  console.warn(`! Redis not reachable at ${env.WAJAH_TEST_REDIS}: Redis-backed tests are skipped`);
  env.WAJAH_TEST_REDIS = '';
}

const files = args.length ? args : [...findTests(path.join(root, 'src')), ...findTests(path.join(root, 'test'))].sort();
// Real-time media (WebRTC): the sender's encoder lowers quality when the CPU is starved, which changes
// what the face engine sees. Those files run after the others, alone, so a busy neighbour cannot
// decide their liveness outcome.
const ALONE = /[\\/]integration[\\/]streaming\.test\.ts$/;
const together = files.filter((f) => !ALONE.test(f));
const alone = files.filter((f) => ALONE.test(f));

function run(list, concurrency) {
  if (!list.length) return Promise.resolve(0);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...list], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// Suites that cannot run here (no Chromium, no nginx, …) record themselves in this file; they are listed
// after node's own summary, where "N skipped" alone would not say that whole suites did not run.
const skipLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-test-')), 'skipped.jsonl');
env.WAJAH_TEST_SKIP_LOG = skipLog;
// Every in-memory test database starts from one freshly migrated dump instead of migrating anew (about 2 s
// each; scripts/pglite-template.ts). Without it (the script failed) each still migrates: slower, same result.
const template = path.join(path.dirname(skipLog), 'pglite-template.tgz');
const made = await new Promise((resolve) => spawn(process.execPath, [path.join(root, 'scripts/pglite-template.ts'), template], { cwd: root, env, stdio: 'inherit' }).on('exit', (code) => resolve(code === 0)));
if (made) env.WAJAH_TEST_PGLITE_TEMPLATE = template;
else console.warn('! could not prepare the migrated test database template: each test database migrates on its own');
const first = await run(together, 2);
const second = await run(alone, 1);
if (alone.length && together.length) console.log(`\n# npm test: ${together.length} files in parallel (exit ${first}), then ${alone.length} real-time media file(s) alone (exit ${second})`);
const skipped = fs.existsSync(skipLog) ? fs.readFileSync(skipLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
if (skipped.length) {
  const line = '!'.repeat(100);
  console.log(`\n${line}\n! ${skipped.length} test suite(s) were SKIPPED and did not run:`);
  for (const s of skipped) console.log(`!   - ${s.suite}: ${s.reason}`);
  console.log(`! Install what they need (Debian: apt-get install chromium nginx php-cli php-curl phpunit default-jdk-headless junit5) and run npm test again; under CI=true they fail instead.\n${line}`);
}
process.exit(first || second);
