/**
 * The embedded database's cost per call of what the hot paths run, in this thread, one caller at a time:
 *
 *   node scripts/db-bench.ts [--calls N] [--dir PATH] [--history N] [--json]
 *
 * One-shot verify's two statements (the claimed user with their templates, one joined read; the outcome,
 * one statement), a small transaction, and a photo-sized bytea written and read (what opt-in photo storage
 * and review uploads do); and a user deleted from a database holding a history: `--history N` attempts
 * (400 000 by default; 0 skips it) and half as many sessions of 2 000 users, each user deleted as the users
 * service does it (their sessions and those holding them locked, the row deleted with what cascades from
 * it, the sessions holding them ended; migrations 0022 and 0024 indexed what that walks), and the attempts of one session
 * counted among them (what every failed attempt of an authentication session does; migration 0023), and a
 * user's offline packages counted among an audit trail of that size (every issuance does; migration 0026). The database is in memory unless --dir names a data directory; with
 * DATABASE_URL set it measures that PostgreSQL server instead (a fresh schema is not made: use a scratch
 * database).
 */
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.ts';
import { countSessionAttempts, insertOutcome } from '../src/db/repositories/attempts.repository.ts';
import { countIssuedOfflinePackages } from '../src/db/repositories/offline-packages.repository.ts';
import { endSessionsHolding, lockSessionsOfUser } from '../src/db/repositories/sessions.repository.ts';
import { findFaceUserWithTemplates } from '../src/db/repositories/templates.repository.ts';

const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const CALLS = Number(arg('calls') ?? 1000);
const HISTORY = Number(arg('history') ?? 400_000);
const json = argv.includes('--json');

const handle = await openDatabase({ databaseUrl: process.env.DATABASE_URL ?? null, pgliteDir: arg('dir') ?? 'memory://' });
const db = handle.db;
const results: Record<string, number> = {};
async function time(label: string, calls: number, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < Math.min(30, calls); i++) await fn(i);
  const t = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  results[label] = Math.round(((performance.now() - t) / calls) * 1000) / 1000;
  if (!json) console.log(`${label.padEnd(44)} ${results[label].toFixed(3)} ms`);
}

try {
  const clientId = crypto.randomUUID(), userId = crypto.randomUUID(), enrollmentId = crypto.randomUUID();
  await sql`insert into clients (id, name, tier) values (${clientId}, 'db-bench', 'enterprise')`.execute(db);
  await sql`insert into users (id, client_id, external_id, name) values (${userId}, ${clientId}, 'bench-user', 'Bench User')`.execute(db);
  await sql`insert into enrollments (id, client_id, user_id, source, model_id, quality_score, face_count, average_confidence) values (${enrollmentId}, ${clientId}, ${userId}, 'direct', 'bench-model', 0.9, 1, 0.99)`.execute(db);
  // Three sealed 512-d templates, as sealed ciphertext is stored (2 kB each).
  for (let i = 0; i < 3; i++) {
    await db
      .insertInto('face_templates')
      .values({ id: crypto.randomUUID(), client_id: clientId, user_id: userId, enrollment_id: enrollmentId, model_id: 'bench-model', dim: 512, angle: 'front', quality: 0.9, ciphertext: crypto.randomBytes(2076) } as never)
      .execute();
  }
  const attempt = () => ({ clientId, sessionId: null, userId, mode: 'verification', outcome: 'success' as const, failureReason: null, confidence: 0.93, livenessScore: null, qualityScore: 0.8, processingMs: 12, ip: '203.0.113.7', userAgent: 'db-bench' });
  const event = () => ({ id: crypto.randomUUID(), client_id: clientId, event_type: 'authentication.success', payload: JSON.stringify({ user_id: 'bench-user', confidence: 0.93, device_info: { ip_address: '203.0.113.7' } }) });

  await time('verify: user and templates (one joined read)', CALLS, () => findFaceUserWithTemplates(db, clientId, 'bench-user'));
  await time('verify: outcome (one statement)', CALLS, () => insertOutcome(db, attempt(), event(), { userId, at: new Date() }));
  await time('transaction with one read', CALLS, () => db.transaction().execute((trx) => trx.selectFrom('users').select('id').where('id', '=', userId).execute()));
  await sql`create temporary table db_bench_photos (id int primary key, bytes bytea)`.execute(db);
  const photo = crypto.randomBytes(200_000);
  let photoId = 1_000_000;
  await time('bytea 200 kB written', Math.max(20, CALLS / 20), () => sql`insert into db_bench_photos values (${photoId++}, ${photo})`.execute(db));
  await sql`insert into db_bench_photos values (1, ${photo})`.execute(db);
  await time('bytea 200 kB read', Math.max(20, CALLS / 20), () => sql`select bytes from db_bench_photos where id = 1`.execute(db));
  if (HISTORY > 0) {
    const users = 2000;
    const perUser = Math.max(1, Math.round(HISTORY / users));
    await sql`insert into users (id, client_id, external_id, name) select gen_random_uuid(), ${clientId}, 'history-' || g, 'History' from generate_series(1, ${users}) g`.execute(db);
    await sql`insert into auth_attempts (id, client_id, user_id, mode, outcome) select gen_random_uuid(), ${clientId}, u.id, 'verification', 'success' from users u, generate_series(1, ${perUser}) g where u.external_id like 'history-%'`.execute(db);
    await sql`insert into sessions (id, client_id, kind, token_hash, user_id, expires_at) select gen_random_uuid(), ${clientId}, 'authentication', md5(u.id::text || g), u.id, now() + interval '1 hour' from users u, generate_series(1, ${Math.max(1, Math.round(perUser / 2))}) g where u.external_id like 'history-%'`.execute(db);
    await sql`analyze`.execute(db);
    const doomed = (await sql<{ id: string }>`select id from users where external_id like 'history-%' limit 50`.execute(db)).rows.map((r) => r.id);
    const sessionId = crypto.randomUUID();
    await sql`insert into auth_attempts (id, client_id, session_id, user_id, mode, outcome) select gen_random_uuid(), ${clientId}, ${sessionId}, ${userId}, 'verification', 'failed' from generate_series(1, 3)`.execute(db);
    await time(`a session's attempts counted (among ${users * perUser})`, CALLS, () => countSessionAttempts(db, clientId, sessionId));
    // The audit trail of such a history: entries about one of the users each.
    await sql`insert into audit_logs (id, client_id, category, action, actor, target, details) select gen_random_uuid(), ${clientId}, 'data_access', 'face.verified', 'api-key', u.id::text, '{}'::jsonb from users u, generate_series(1, ${Math.max(1, Math.round(perUser * 0.75))}) g where u.external_id like 'history-%'`.execute(db);
    await sql`analyze audit_logs`.execute(db);
    await time(`offline packages of a user counted (among ${users * Math.max(1, Math.round(perUser * 0.75))} audit entries)`, CALLS, () => countIssuedOfflinePackages(db, clientId, userId));
    // A different user on every call, the warm-up's included (40 of the 50).
    let next = 0;
    await time(`user deleted (${users * perUser} attempts, ${users * Math.max(1, Math.round(perUser / 2))} sessions)`, 20, () =>
      db.transaction().execute(async (trx) => {
        const id = doomed[next++];
        await lockSessionsOfUser(trx, clientId, id);
        await trx.deleteFrom('users').where('client_id', '=', clientId).where('id', '=', id).execute();
        await endSessionsHolding(trx, clientId, id);
      }),
    );
  }
  if (json) console.log(JSON.stringify({ database: handle.dialect, calls: CALLS, ms_per_call: results }));
} finally {
  await handle.close();
}
