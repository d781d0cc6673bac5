// The maintenance job runs on the embedded database only (PostgreSQL servers have autovacuum), so these tests
// use PGlite alone, in memory, with a table of their own: no migrations, no server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kysely, sql } from 'kysely';
import type { PGlite } from '@electric-sql/pglite';
import { createPGliteDialect } from './pglite-driver.ts';
import { freezeOtherDatabases, runMaintenance, startPGliteMaintenance } from './pglite-maintenance.ts';
import type { DB } from './database.ts';

let db: DB;
let client: PGlite;

before(async () => {
  const opened = await createPGliteDialect(undefined);
  client = opened.client;
  db = new Kysely({ dialect: opened.dialect }) as DB;
});

after(async () => {
  await db.destroy();
});

interface Stats {
  n_dead_tup: number;
  last_vacuum: Date | null;
  last_analyze: Date | null;
  last_autovacuum: Date | null;
  xid_age: number;
}

/** The table's activity statistics as the database reports them (flushed first: PostgreSQL sends them at most once a second). */
async function stats(table: string): Promise<Stats> {
  await client.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await client.query<Stats>(
    `SELECT n_dead_tup::int, last_vacuum, last_analyze, last_autovacuum, age(c.relfrozenxid) AS xid_age
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = $1`,
    [table],
  );
  return rows[0]!;
}

test('a pass vacuums and analyzes a churned table, and freezes it under a low threshold', async () => {
  await sql`CREATE TABLE churn (id int PRIMARY KEY, v int)`.execute(db);
  await sql`INSERT INTO churn SELECT g, g FROM generate_series(1, 5000) g`.execute(db);
  // One transaction per update, as requests do: dead tuples, and transaction ids consumed.
  for (let i = 0; i < 20; i++) await sql`UPDATE churn SET v = v + 1 WHERE id % 20 = ${i}`.execute(db);
  await sql`DELETE FROM churn WHERE id % 2 = 0`.execute(db);

  const churned = await stats('churn');
  // Nothing else reclaims them: single-user PostgreSQL has no autovacuum.
  assert.ok(churned.n_dead_tup >= 2500, `dead tuples after the churn: ${churned.n_dead_tup}`);
  assert.equal(churned.last_vacuum, null);
  assert.equal(churned.last_autovacuum, null);

  const report = await runMaintenance(db);
  const step = report.steps.find((s) => s.table === 'public.churn');
  assert.deepEqual(step && { action: step.action, reason: step.reason }, { action: 'vacuum', reason: 'dead tuples' });
  assert.ok(step!.deadBefore >= 2500);

  const vacuumed = await stats('churn');
  assert.equal(vacuumed.n_dead_tup, 0);
  assert.ok(vacuumed.last_vacuum instanceof Date, 'last_vacuum set');
  assert.ok(vacuumed.last_analyze instanceof Date, 'last_analyze set');

  // A second pass finds nothing left to do for it.
  assert.equal((await runMaintenance(db)).steps.find((s) => s.table === 'public.churn'), undefined);

  // Freezing, forced by a threshold below the table's age: relfrozenxid moves up to (nearly) the current xid.
  for (let i = 0; i < 5; i++) await sql`UPDATE churn SET v = v + 1 WHERE id = 1`.execute(db);
  const horizon = async () =>
    (await client.query<{ table: number; database: number }>(
      `SELECT (SELECT relfrozenxid::text::int FROM pg_class WHERE relname = 'churn') AS table,
              (SELECT datfrozenxid::text::int FROM pg_database WHERE datname = current_database()) AS database`,
    )).rows[0]!;
  const old = await horizon();
  const aged = (await stats('churn')).xid_age;
  assert.ok(aged >= 5, `xid age before freezing: ${aged}`);
  const frozen = await runMaintenance(db, { freezeAge: 3 });
  assert.equal(frozen.steps.find((s) => s.table === 'public.churn')?.action, 'freeze');
  const now = await horizon();
  assert.ok(now.table >= old.table + 5, `relfrozenxid ${old.table} → ${now.table}`);
  // The catalogs were frozen with it: the database's own horizon (datfrozenxid) moved as well.
  assert.ok(now.database > old.database, `datfrozenxid ${old.database} → ${now.database}`);
});

test('VACUUM and ANALYZE through the driver keep its prepared statements', async () => {
  await sql`CREATE TABLE kept (id int PRIMARY KEY)`.execute(db);
  const read = () => db.selectFrom('kept' as never).selectAll().where('id' as never, '=', 1 as never).execute();
  await read();
  const names = async () => (await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);
  const before = await names();
  await sql`ANALYZE kept`.execute(db);
  await sql`VACUUM (ANALYZE) kept`.execute(db);
  await read();
  assert.deepEqual(await names(), before);
});

test('the job starts on the embedded database only', async () => {
  const untouchable = new Proxy({}, { get: () => assert.fail('the PostgreSQL backend must not be queried') }) as DB;
  const log = { info: () => {}, warn: () => {} };
  assert.equal(startPGliteMaintenance({ db: untouchable, dialect: 'postgres' }, log), null);
  const started = startPGliteMaintenance({ db, dialect: 'pglite' }, log);
  assert.ok(started);
  await started.stop();
});

test('wajah db maintain freezes the template databases, which the server session cannot reach', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { PGlite } = await import('@electric-sql/pglite');
  for (let i = 0; i < 10; i++) await client.query('SELECT txid_current()');
  // Freezing every table of the server's own database leaves the cluster's horizon where the templates hold it.
  await client.exec('VACUUM (FREEZE)');
  const { rows } = await client.query<{ oldest: number }>('SELECT max(age(datfrozenxid)) AS oldest FROM pg_database WHERE datname <> current_database()');
  assert.ok(rows[0]!.oldest >= 10);
  // The same cluster on disk (the command runs on a stopped server's directory).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-maint-'));
  try {
    await (await PGlite.create({ dataDir: dir, loadDataDir: await client.dumpDataDir('none') })).close();
    const done = await freezeOtherDatabases(dir);
    assert.deepEqual(done.map((d) => d.name), ['template1', 'template0']);
    for (const d of done) assert.ok(d.xidAgeBefore >= 10 && d.xidAgeAfter < d.xidAgeBefore, JSON.stringify(d));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
