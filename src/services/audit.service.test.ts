import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRepository, AuditRow } from '../db/repositories/audit.repository.ts';
import { AuditService } from './audit.service.ts';

/** A repository whose writes fail while `down` is set, as a database does through a restart or fail-over. */
function flakyRepo() {
  const written: AuditRow[] = [];
  const state = { down: false, attempts: 0 };
  const repo = {
    insertMany: async (rows: AuditRow[]) => {
      state.attempts++;
      if (state.down) throw new Error('connection terminated');
      written.push(...rows);
    },
  } as unknown as AuditRepository;
  return { repo, written, state };
}
const entry = (i: number) => ({ clientId: null, category: 'api_access' as const, action: `GET /x/${i}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('entries the database refused are written once it is back, in order; no flush per request meanwhile', async () => {
  const { repo, written, state } = flakyRepo();
  const warnings: string[] = [];
  // The retry well after the checks below (a loaded machine may take tens of ms between two lines).
  const audit = new AuditService(repo, { warn: (m) => void warnings.push(m) }, { flushMs: 5, maxBuffer: 3, retryMs: 1000 });
  state.down = true;
  for (let i = 0; i < 3; i++) await audit.record(entry(i)); // a full buffer: flushed at once, refused
  await sleep(10);
  const attemptsWhileDown = state.attempts;
  assert.equal(attemptsWhileDown, 1);
  for (let i = 3; i < 9; i++) await audit.record(entry(i)); // full again, twice: waits for the retry instead
  await sleep(10);
  assert.equal(state.attempts, attemptsWhileDown, 'no write per full buffer while the database is down');
  assert.match(warnings[0], /could not write 3 entries \(connection terminated\); trying again in 1 s/);
  state.down = false;
  for (const until = Date.now() + 5000; written.length < 9 && Date.now() < until; ) await sleep(20);
  assert.deepEqual(written.map((r) => r.action), Array.from({ length: 9 }, (_, i) => `GET /x/${i}`), 'every entry, oldest first');
  await audit.close();
});

test('past maxRetained waiting entries the oldest are given up, and the log says how many', async () => {
  const { repo, written, state } = flakyRepo();
  const warnings: string[] = [];
  const audit = new AuditService(repo, { warn: (m) => void warnings.push(m) }, { flushMs: 5, maxBuffer: 1000, retryMs: 30, maxRetained: 4 });
  state.down = true;
  for (let i = 0; i < 6; i++) await audit.record(entry(i));
  await audit.flush();
  assert.ok(warnings.some((w) => /2 oldest entries given up/.test(w)), warnings.join('\n'));
  state.down = false;
  await audit.flush();
  assert.deepEqual(written.map((r) => r.action), ['GET /x/2', 'GET /x/3', 'GET /x/4', 'GET /x/5']);
  await audit.close();
});

test('shutdown while the database is down says how many entries were not written', async () => {
  const { repo, state } = flakyRepo();
  const warnings: string[] = [];
  const audit = new AuditService(repo, { warn: (m) => void warnings.push(m) });
  state.down = true;
  await audit.record(entry(1));
  await audit.close();
  assert.match(warnings.at(-1)!, /1 entries could not be written before shutdown/);
});
