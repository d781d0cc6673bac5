import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { backendNames, createBackend } from '../helpers/backends.ts';
import { MIGRATIONS, openDatabase, type DatabaseOptions } from '../../src/db/database.ts';

const root = path.resolve(import.meta.dirname, '../..');
const KEY = '7'.repeat(64);

/**
 * Runs `node src/server.ts` as an operator would, until it is ready (then SIGTERM) or exits by itself.
 * Resolves with the exit code and everything it printed.
 */
async function start(extra: NodeJS.ProcessEnv, dataDir: string): Promise<{ code: number | null; out: string; ready: boolean }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WAJAH_DATA_DIR: dataDir,
    WAJAH_ADMIN_TOKEN: 'deploy-test-admin-token-0123456789',
    WAJAH_MASTER_KEY: KEY,
    WAJAH_WORKERS: '0',
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  Object.assign(env, extra);
  const child = spawn(process.execPath, [path.join(root, 'src/server.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = Date.now() + 90_000;
  while (!/"msg":"ready: Wajah/.test(out) && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  const ready = /"msg":"ready: Wajah/.test(out);
  if (child.exitCode === null) child.kill(ready ? 'SIGTERM' : 'SIGKILL');
  return { code: await exited, out, ready };
}

/** A refusal to start: exit code, no listening, and one line naming the cause without a stack trace. */
function assertOneLine(r: { code: number | null; out: string; ready: boolean }, code: number, pattern: RegExp): void {
  assert.equal(r.ready, false, r.out);
  assert.equal(r.code, code, r.out);
  assert.doesNotMatch(r.out, /^\s+at /m, `a stack trace was printed:\n${r.out}`);
  assert.doesNotMatch(r.out, /Server listening/, r.out);
  const errors = r.out.split('\n').filter((l) => l && !l.startsWith('{'));
  assert.ok(errors.some((l) => pattern.test(l)), r.out);
}

const usePg = backendNames().includes('postgres');

describe('start-up with a wrong DATABASE_URL', { skip: !usePg && 'PostgreSQL not available' }, () => {
  test('nothing listens on the port: one line naming DATABASE_URL, exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      const r = await start({ DATABASE_URL: 'postgres://wajah:s3cret-pw@127.0.0.1:1/wajah' }, dir);
      assertOneLine(r, 1, /^DATABASE_UNAVAILABLE: .*DATABASE_URL \(postgres:\/\/wajah@127\.0\.0\.1:1\/wajah\).*ECONNREFUSED/);
      assert.doesNotMatch(r.out, /s3cret-pw/, 'the password is not printed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a database that does not exist: one line naming DATABASE_URL, exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      const url = new URL(process.env.WAJAH_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/postgres');
      url.pathname = '/wajah_no_such_database';
      const r = await start({ DATABASE_URL: url.toString() }, dir);
      assertOneLine(r, 1, /^DATABASE_UNAVAILABLE: .*DATABASE_URL .*database "wajah_no_such_database" does not exist/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a migration that fails: one line, the schema untouched, and the next start migrates', async () => {
    const b = await createBackend('postgres');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    const admin = new pg.Client({ connectionString: b.databaseUrl! });
    await admin.connect();
    try {
      // Something in the way of the first migration (a table of the same name left by another application).
      await admin.query('CREATE TABLE users (x int)');
      const r = await start({ DATABASE_URL: b.databaseUrl! }, dir);
      assertOneLine(r, 1, /^MIGRATION_FAILED: Migration 0001-initial failed: relation "users" already exists.*start again/);
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'clients'`);
      assert.equal(rows[0].n, 0, 'nothing of the failed migration stayed');
      await admin.query('DROP TABLE users');
      const again = await start({ DATABASE_URL: b.databaseUrl! }, dir);
      assert.ok(again.ready, again.out);
      assert.equal(again.code, 0, again.out);
    } finally {
      await admin.end();
      await b.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up with a wrong master key', () => {
  test('a key of the wrong length: one line naming WAJAH_MASTER_KEY, exit 78', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      const r = await start({ WAJAH_MASTER_KEY: 'ab'.repeat(16) }, dir);
      assertOneLine(r, 78, /WAJAH_MASTER_KEY must be 32 bytes/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up with a bad setting the server used to find late', () => {
  // Each was a stack trace and exit 1 after the database and the face models had loaded (20 s and more),
  // which a supervisor restarting on failure retries forever; a configuration error is exit 78.
  for (const [name, extra, pattern] of [
    ['WAJAH_SSO_ISSUER not a URL', { WAJAH_SSO_ISSUER: 'not-a-url' }, /WAJAH_SSO_ISSUER must be the provider's public http\(s\) URL ending in \/oidc/],
    ['WAJAH_SSO_ISSUER not ending in /oidc', { WAJAH_SSO_ISSUER: 'https://id.example.com/login' }, /WAJAH_SSO_ISSUER must be/],
    ['WAJAH_OFFLINE_SIGNING_KEY not a key', { WAJAH_OFFLINE_SIGNING_KEY: 'garbage' }, /WAJAH_OFFLINE_SIGNING_KEY must be an Ed25519 PKCS#8 PEM/],
  ] as const) {
    test(`${name}: one line naming it, exit 78`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
      try {
        assertOneLine(await start(extra, dir), 78, pattern);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a master.key that holds no key: one line naming the file, exit 78', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      fs.writeFileSync(path.join(dir, 'master.key'), 'garbage\n', { mode: 0o600 });
      assertOneLine(await start({ WAJAH_MASTER_KEY: '' }, dir), 78, /master\.key does not hold a 32-byte key .*restore it from your backup/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up with an unusable data directory', () => {
  test('WAJAH_DATA_DIR that cannot be created: one line naming it, exit 78', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      // A regular file where a parent directory should be (as a read-only mount, but testable as root).
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      const r = await start({}, path.join(dir, 'file', 'data'));
      assertOneLine(r, 78, /WAJAH_DATA_DIR \(.*file\/data\) must be a directory this process can create and write: ENOTDIR/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an embedded database that cannot be opened: one line naming WAJAH_DATA_DIR, exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      fs.writeFileSync(path.join(dir, 'pg'), 'x');
      const r = await start({}, dir);
      assertOneLine(r, 1, /^DATABASE_UNAVAILABLE: Cannot open the embedded database in .*WAJAH_DATA_DIR/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up on a port in use', () => {
  test('one line naming HOST and PORT, exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const r = await start({ PORT: String((other.address() as net.AddressInfo).port) }, dir);
      assertOneLine(r, 1, /^Cannot listen on 127\.0\.0\.1:\d+ \(HOST, PORT\): listen EADDRINUSE.*Stop the process that holds the port/);
    } finally {
      other.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a HOST this machine does not have is named as such, not blamed on the port', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-deploy-'));
    try {
      const r = await start({ HOST: 'no-such-host.invalid' }, dir);
      assertOneLine(r, 1, /^Cannot listen on no-such-host\.invalid:0 \(HOST, PORT\): .*HOST \(no-such-host\.invalid\) is not an address of this machine/);
      assert.doesNotMatch(r.out, /holds the port/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A migration that fails halfway through an upgrade (the first pending one applies, the second fails):
 * both are rolled back together on either database, the error names the migration, and once the cause
 * is gone the next start applies both.
 */
for (const backend of backendNames()) {
  describe(`a failing migration among several [${backend}]`, () => {
    test('leaves the schema as it was and can be run again', async () => {
      const b = await createBackend(backend);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-migrate-'));
      const options: DatabaseOptions = { databaseUrl: b.databaseUrl, pgliteDir: path.join(dir, 'pg'), lockKind: 'cli' };
      const raw = async (q: string) => {
        if (b.databaseUrl) {
          const c = new pg.Client({ connectionString: b.databaseUrl });
          await c.connect();
          try {
            return (await c.query(q)).rows;
          } finally {
            await c.end();
          }
        }
        const p = new PGlite(path.join(dir, 'pg'));
        try {
          return (await p.query(q)).rows;
        } finally {
          await p.close();
        }
      };
      try {
        let db = await openDatabase(options);
        // Back to the schema before 0013, except that 0014's index is still there: 0013 applies, 0014 fails.
        // The migrations after 0014 are undone first (newest first), so the pending ones are 0013 onwards in order.
        const later = Object.keys(MIGRATIONS).filter((name) => name.slice(0, 4) > '0014').reverse();
        for (const name of later) await MIGRATIONS[name].down!(db.db);
        await sql`DELETE FROM kysely_migration WHERE name >= '0013'`.execute(db.db);
        await sql`ALTER TABLE fallback_credentials DROP COLUMN lockouts`.execute(db.db);
        await db.close();
        await assert.rejects(openDatabase(options), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'MIGRATION_FAILED');
          assert.match(e.message, /Migration 0014-event-retention failed: relation "webhook_deliveries_pending_event_idx" already exists/);
          return true;
        });
        const cols = await raw(`SELECT 1 FROM information_schema.columns WHERE table_name = 'fallback_credentials' AND column_name = 'lockouts'`);
        assert.equal(cols.length, 0, '0013 was rolled back with 0014');
        const applied = await raw(`SELECT name FROM kysely_migration WHERE name >= '0013' ORDER BY name`);
        assert.deepEqual(applied, []);
        await raw('DROP INDEX webhook_deliveries_pending_event_idx');
        db = await openDatabase(options);
        const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration WHERE name >= '0013' ORDER BY name`.execute(db.db);
        assert.deepEqual(rows.map((r) => r.name), ['0013-fallback-lockouts', '0014-event-retention', ...[...later].reverse()]);
        await db.close();
      } finally {
        await b.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
