// `node scripts/auth-timing.ts`: does an API key id that exists answer faster or slower than one
// that does not (issue 9.10)? Times wrong-secret requests for a known key id and for unknown ids
// through the whole HTTP stack (app.inject) and prints medians. Prints numbers; asserts nothing.
// DATABASE_URL selects PostgreSQL (default: the embedded database in memory).
import { loadConfig } from '../src/config/env.ts';
import { createContainer } from '../src/container.ts';
import { buildApp } from '../src/app.ts';

const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 2000);
const TOKEN = 'auth-timing-token-0123456789';
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: TOKEN, WAJAH_WORKERS: '0' });
const container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info() {}, warn() {}, error: console.error } });
const app = await buildApp(config, container);
await app.ready();
const c = (await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${TOKEN}` }, payload: { name: 'T', tier: 'enterprise' } })).json();

async function time(key: string, i: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const res = await app.inject({ method: 'GET', url: '/api/clients/users/', headers: { authorization: `ApiKey ${key}:wsk_wrong_${i}` }, remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
  if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const known: number[] = [];
const unknownRepeated: number[] = [];
const unknownFresh: number[] = [];
const repeated = 'wk_' + '0'.repeat(32);
for (let i = 0; i < ROUNDS; i++) {
  // Interleaved so load changes hit all three alike.
  known.push(await time(c.api_key, i));
  unknownRepeated.push(await time(repeated, i));
  unknownFresh.push(await time(`wk_${i.toString(16).padStart(32, 'f')}`, i));
}
console.log(`database: ${container.database.dialect}; ${ROUNDS} wrong-secret requests each`);
console.log(`median ms: known key id ${median(known).toFixed(3)}, unknown key id (repeated) ${median(unknownRepeated).toFixed(3)}, unknown key id (new each time) ${median(unknownFresh).toFixed(3)}`);
await app.close();
await container.close();
