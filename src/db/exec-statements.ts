import { sql, type Kysely } from 'kysely';

/** Runs a migration script one statement at a time (PGlite's extended protocol takes one per query).
 * Statements are split on semicolons, so none may contain one inside a literal. */
export async function execStatements(db: Kysely<any>, script: string): Promise<void> {
  const statements = script
    .replace(/--.*$/gm, '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const statement of statements) await sql.raw(statement).execute(db);
}
