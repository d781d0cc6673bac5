import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from './database.ts';

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
