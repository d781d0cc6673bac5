import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kysely, sql } from 'kysely';
import { openDatabase } from './database.ts';
import { createPGliteDialect, parseBytea, serializeBytea } from './pglite-driver.ts';

test('the embedded database reports affected rows (deletes and updates, in and out of transactions)', async () => {
  const h = await openDatabase({ databaseUrl: null, pgliteDir: 'memory://' });
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a scratch table outside the schema
    const db = h.db as any;
    await sql`create table scratch (id int primary key, v int)`.execute(db);
    await sql`insert into scratch values (1, 0), (2, 0), (3, 0)`.execute(db);
    const del = await db.deleteFrom('scratch').where('id', '=', 1).executeTakeFirst();
    assert.equal(del.numDeletedRows, 1n);
    const none = await db.deleteFrom('scratch').where('id', '=', 99).executeTakeFirst();
    assert.equal(none.numDeletedRows, 0n);
    const upd = await db.transaction().execute((trx: typeof db) => trx.updateTable('scratch').set({ v: 1 }).executeTakeFirst());
    assert.equal(upd.numUpdatedRows, 2n);
    const delInTrx = await db.transaction().execute((trx: typeof db) => trx.deleteFrom('scratch').where('id', '=', 2).executeTakeFirst());
    assert.equal(delInTrx.numDeletedRows, 1n);
  } finally {
    await h.close();
  }
});

/** A scratch database through the driver itself, with room for `maxStatements` prepared statements. */
async function scratch(maxStatements = 256) {
  const { dialect, client } = await createPGliteDialect(undefined, { maxStatements });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- scratch tables outside the schema
  const db = new Kysely<any>({ dialect });
  const prepared = async () => (await client.query<{ statement: string }>(`select statement from pg_prepared_statements where name like 'wajah_%'`)).rows.map((r) => r.statement);
  return { db, client, prepared };
}

/** Table t with one row, and `select * from "t"` prepared (run once) against its first shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- scratch tables outside the schema
async function oneRowTablePlanned(db: Kysely<any>): Promise<void> {
  await sql`create table t (id int primary key)`.execute(db);
  await db.insertInto('t').values({ id: 1 }).execute();
  assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [{ id: 1 }]);
}

test('a query text is prepared once and run again with other values', async () => {
  const { db, prepared } = await scratch();
  try {
    await sql`create table t (id int primary key, v text)`.execute(db);
    for (let i = 0; i < 5; i++) await db.insertInto('t').values({ id: i, v: `v${i}` }).execute();
    const rows = await db.selectFrom('t').select(['id', 'v']).where('id', '>', 2).orderBy('id').execute();
    assert.deepEqual(rows, [{ id: 3, v: 'v3' }, { id: 4, v: 'v4' }]);
    assert.deepEqual((await db.selectFrom('t').select('v').where('id', '>', 3).execute()).map((r) => r.v), ['v4']);
    // Other statements that change no schema leave the prepared ones in place.
    await sql`(select 1 as n) union all (select 2)`.execute(db);
    await sql`set statement_timeout = 0`.execute(db);
    // One statement for the five inserts, one for the select however its value changed.
    const statements = await prepared();
    assert.equal(statements.filter((s) => s.startsWith('insert into "t"')).length, 1);
    assert.equal(statements.filter((s) => s.startsWith('select "v" from "t"')).length, 1);
  } finally {
    await db.destroy();
  }
});

test('a schema change lets go of the prepared statements: the same text sees the new column', async () => {
  const { db, prepared } = await scratch();
  try {
    await oneRowTablePlanned(db);
    // Planned before the change, run after it, this text would fail ("cached plan must not change result type").
    await sql`alter table t add column w text not null default 'x'`.execute(db);
    // Inside a transaction, where a failed statement could not be run again.
    assert.deepEqual(await db.transaction().execute((trx) => trx.selectFrom('t').selectAll().execute()), [{ id: 1, w: 'x' }]);
    assert.equal((await prepared()).filter((s) => s.startsWith('select * from "t"')).length, 1);
  } finally {
    await db.destroy();
  }
});

test('a table changed behind the driver: a statement planned for it is prepared again (outside a transaction)', async () => {
  const { db, client } = await scratch();
  try {
    await oneRowTablePlanned(db);
    await client.query(`alter table t add column w int not null default 7`); // not through Kysely: nothing invalidated
    assert.deepEqual(await db.selectFrom('t').selectAll().execute(), [{ id: 1, w: 7 }]);
  } finally {
    await db.destroy();
  }
});

test('prepared statements are bounded: the least recently used is closed', async () => {
  const { db, prepared } = await scratch(3);
  try {
    await sql`create table t (id int primary key, a int, b int, c int, d int)`.execute(db);
    for (const col of ['id', 'a', 'b', 'c', 'd'] as const) await db.selectFrom('t').select(col).execute();
    const statements = await prepared();
    assert.ok(statements.length <= 3, `${statements.length} prepared: ${statements.join(' | ')}`);
    // The one just used is among them; the first ones are gone.
    assert.ok(statements.some((s) => s.startsWith('select statement from pg_prepared_statements') || s.startsWith('select "d"')));
    assert.ok(!statements.some((s) => s.startsWith('select "id" from "t"')));
  } finally {
    await db.destroy();
  }
});

test('values of every kind go in and come back as PGlite reads them; errors leave the session usable', async () => {
  const { db } = await scratch();
  try {
    await sql`create table t (id uuid primary key, doc jsonb, bytes bytea, at timestamptz, n real, flag boolean, note text)`.execute(db);
    const row = { id: crypto.randomUUID(), doc: JSON.stringify({ a: [1, 2], b: 'é' }), bytes: new Uint8Array([0, 1, 254, 255]), at: new Date('2026-12-04T10:11:12.345Z'), n: 0.5, flag: true, note: null };
    await db.insertInto('t').values(row).execute();
    const [back] = await db.selectFrom('t').selectAll().where('id', '=', row.id).execute();
    assert.deepEqual(back, { ...row, doc: { a: [1, 2], b: 'é' } });
    // A constraint error: thrown with its code, the transaction rolled back, the next query answered.
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.updateTable('t').set({ note: 'changed' }).where('id', '=', row.id).execute();
        await trx.insertInto('t').values({ ...row }).execute();
      }),
      (e: { code?: string }) => e.code === '23505',
    );
    assert.equal((await db.selectFrom('t').select('note').where('id', '=', row.id).executeTakeFirstOrThrow()).note, null);
    // A bad value for a prepared text: the error, then the same text with a good value works.
    await assert.rejects(db.selectFrom('t').select('id').where('id', '=', 'not-a-uuid').execute(), (e: { code?: string }) => e.code === '22P02');
    assert.equal((await db.selectFrom('t').select('id').where('id', '=', row.id).execute()).length, 1);
    // A text that does not parse is not kept.
    await assert.rejects(sql`select frm t`.execute(db));
    assert.equal((await sql<{ n: number }>`select 1 as n`.execute(db)).rows[0].n, 1);
  } finally {
    await db.destroy();
  }
});

test('one holder at a time: a transaction is not joined by a concurrent query', async () => {
  const { db } = await scratch();
  try {
    await sql`create table t (id int primary key)`.execute(db);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const trx = db.transaction().execute(async (t) => {
      await t.insertInto('t').values({ id: 1 }).execute();
      inserted();
      await gate;
      throw new Error('roll back');
    });
    await didInsert;
    // Asked while the transaction is open: it waits for it, and must not see (or commit) the row the
    // transaction rolls back.
    const outside = db.selectFrom('t').selectAll().execute();
    await new Promise((r) => setTimeout(r, 20));
    release();
    await assert.rejects(trx, /roll back/);
    assert.deepEqual(await outside, []);
    assert.deepEqual(await db.selectFrom('t').selectAll().execute(), []);
  } finally {
    await db.destroy();
  }
});

test("bytea: the native hex codec reads and writes exactly what PGlite's own does, into arrays of their own", async () => {
  const { types } = await import('@electric-sql/pglite');
  for (const size of [0, 1, 17, 2100, 300_000]) {
    const bytes = crypto.getRandomValues(new Uint8Array(size > 65536 ? 65536 : size));
    const value = size > 65536 ? new Uint8Array(size).map((_, i) => bytes[i % bytes.length] ^ (i >> 16)) : bytes;
    const text = serializeBytea(value);
    assert.equal(text, types.serializers[types.BYTEA](value));
    const back = parseBytea(text);
    assert.deepEqual(back, types.parsers[types.BYTEA](text, types.BYTEA));
    // Its own memory, not a view of Node's shared buffer pool (code may read `.buffer`).
    assert.equal(back.byteOffset, 0);
    assert.equal(back.buffer.byteLength, size);
  }
  // A view into a larger buffer is written as the view's bytes only.
  const big = new Uint8Array([1, 2, 3, 4, 5, 6]);
  assert.equal(serializeBytea(big.subarray(2, 4)), '\\x0304');
  assert.throws(() => serializeBytea('0304'), /Invalid input for bytea/);
  // Through the database and back, a photo-sized value.
  const { db } = await scratch();
  try {
    await sql`create table b (id int primary key, v bytea)`.execute(db);
    const photo = new Uint8Array(300_000).map((_, i) => (i * 7919) & 255);
    await db.insertInto('b').values({ id: 1, v: photo }).execute();
    assert.deepEqual((await db.selectFrom('b').select('v').where('id', '=', 1).executeTakeFirstOrThrow()).v, photo);
    assert.equal((await sql<{ n: number }>`select length(v) as n from b`.execute(db)).rows[0].n, 300_000);
  } finally {
    await db.destroy();
  }
});
