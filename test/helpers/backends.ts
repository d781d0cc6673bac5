import crypto from 'node:crypto';
import pg from 'pg';

/**
 * The integration suite runs once per database backend (Kysely's DIALECTS idea): the embedded
 * PGlite and a real PostgreSQL server. Each run gets a fresh database that is dropped afterwards.
 *
 * WAJAH_TEST_POSTGRES: admin URL of the server (default postgres://postgres@127.0.0.1:5432/postgres).
 * WAJAH_TEST_BACKENDS: comma list to restrict (e.g. "pglite").
 */
export interface Backend {
  name: 'pglite' | 'postgres';
  /** DATABASE_URL for this run (null for the embedded database). */
  databaseUrl: string | null;
  /** Drops the per-run database. */
  cleanup(): Promise<void>;
}

const ADMIN_URL = process.env.WAJAH_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres';

export function backendNames(): Array<Backend['name']> {
  const only = process.env.WAJAH_TEST_BACKENDS?.split(',').map((s) => s.trim());
  const all: Array<Backend['name']> = ['pglite', 'postgres'];
  return only ? all.filter((b) => only.includes(b)) : all;
}

export async function createBackend(name: Backend['name']): Promise<Backend> {
  if (name === 'pglite') return { name, databaseUrl: null, cleanup: async () => {} };
  const dbName = `wajah_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  return {
    name,
    databaseUrl: url.toString(),
    async cleanup() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
