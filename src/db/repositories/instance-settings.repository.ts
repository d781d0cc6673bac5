import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

type SettingsTables = { instance_settings: { key: string; value: string; updated_at: Date } };
const t = (db: Kysely<Database>) => db.withTables<SettingsTables>();

/** The stored value; `forShare` locks the row against a writer until the read's transaction ends. */
export async function getInstanceSetting(db: Kysely<Database>, key: string, options: { forShare?: boolean; forUpdate?: boolean } = {}): Promise<string | null> {
  let q = t(db).selectFrom('instance_settings').select('value').where('key', '=', key);
  if (options.forShare) q = q.forShare();
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row?.value ?? null;
}

/** Inserts the value unless one is already stored; returns the stored value (ours or the earlier one). */
export async function putInstanceSettingOnce(db: Kysely<Database>, key: string, value: string): Promise<string> {
  await t(db).insertInto('instance_settings').values({ key, value, updated_at: new Date() }).onConflict((oc) => oc.column('key').doNothing()).execute();
  return (await getInstanceSetting(db, key))!;
}

/** Whether the database already holds data sealed or keyed under a master key. */
export async function holdsSealedData(db: Kysely<Database>): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    SELECT EXISTS (SELECT 1 FROM face_templates) OR EXISTS (SELECT 1 FROM webhook_endpoints)
        OR EXISTS (SELECT 1 FROM sso_keys) OR EXISTS (SELECT 1 FROM fallback_credentials) AS found`.execute(db);
  return rows[0]?.found === true;
}

/** Inserts or replaces the value (a master-key rotation moves the check value and the sealed pepper). */
export async function putInstanceSetting(db: Kysely<Database>, key: string, value: string): Promise<void> {
  await t(db)
    .insertInto('instance_settings')
    .values({ key, value, updated_at: new Date() })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
    .execute();
}
