import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { sql } from 'kysely';
import * as tar from 'tar';
import { fingerprint, keyCheckValue } from '../crypto/key-check.ts';
import { restoreEmbedded } from './backup.ts';
import { MIGRATIONS, openDatabase, type DB } from './database.ts';
import { getInstanceSetting, putInstanceSetting } from './repositories/instance-settings.repository.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-restore-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A backup as `wajah backup` writes it, of an in-memory database changed by `change`. */
async function backupOf(change: (db: DB) => Promise<void>): Promise<Blob> {
  const database = await openDatabase({ databaseUrl: null, pgliteDir: 'memory://' });
  try {
    await change(database.db);
    return new Blob([await (await database.dumpEmbedded!()).arrayBuffer()]);
  } finally {
    await database.close();
  }
}

/** A data directory holding a database marked 'old'. */
async function populated(name: string): Promise<string> {
  const dataDir = path.join(work, name);
  const database = await openDatabase({ databaseUrl: null, pgliteDir: path.join(dataDir, 'pg'), lockKind: 'cli' });
  await putInstanceSetting(database.db, 'restore_test_marker', 'old');
  await database.close();
  return dataDir;
}

async function marker(dataDir: string): Promise<string | null> {
  const database = await openDatabase({ databaseUrl: null, pgliteDir: path.join(dataDir, 'pg'), lockKind: 'cli' });
  try {
    return await getInstanceSetting(database.db, 'restore_test_marker');
  } finally {
    await database.close();
  }
}

/** A tar archive of `files` under `cwd` (node-tar), as bytes. */
async function tarCreate(options: { gzip: boolean; cwd: string; portable: boolean }, files: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c(options, files) as unknown as NodeJS.ReadableStream;
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** Length of a tar stream without its end-of-archive blocks (two or more zero blocks at the end). */
function tarBody(t: Buffer): number {
  let end = t.length;
  while (end >= 512 && t.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
  return end;
}

const codeOf = (code: string) => (e: unknown) => (e as { code?: string }).code === code;

/**
 * `wajah restore --force` over a working database (docs/operations.md, "Backup and restore"): a backup that this
 * release cannot open, or that was sealed with another master key than the configured one, was swapped in first
 * and judged after, so the data directory was left holding a database the server refuses to start on (the old one
 * aside under another name). It is now loaded and judged in a staging directory, and refused with nothing changed.
 */
describe('restore swaps in only a database that opens', () => {
  const keyA = keyCheckValue(crypto.randomBytes(32));
  const keyB = keyCheckValue(crypto.randomBytes(32));
  const names = (dir: string) => fs.readdirSync(dir).filter((n) => n !== 'wajah.lock').sort();

  it('a crash between the two renames: the next open finishes the restore instead of making an empty database', async () => {
    const backup = await backupOf((db) => putInstanceSetting(db, 'restore_test_marker', 'new'));
    const dataDir = await populated('crash');
    // The power goes between "the current pg/ aside" and "the staged pg/ in its place".
    const rename = fs.renameSync;
    fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
      if (String(from).includes(`${path.sep}.restore-`) && path.basename(String(from)) === 'pg') throw new Error('power loss');
      return rename(from, to);
    };
    try {
      await assert.rejects(restoreEmbedded(dataDir, backup, { force: true }), /power loss/);
    } finally {
      fs.renameSync = rename;
    }
    assert.equal(fs.existsSync(path.join(dataDir, 'pg')), false, 'the crash left no pg/');
    const warned: string[] = [];
    const database = await openDatabase({ databaseUrl: null, pgliteDir: path.join(dataDir, 'pg'), lockKind: 'cli', log: { warn: (m) => warned.push(m) } });
    try {
      assert.equal(await getInstanceSetting(database.db, 'restore_test_marker'), 'new', 'the checked backup is in place, not an empty database');
    } finally {
      await database.close();
    }
    assert.match(warned.join('\n'), /finished a restore interrupted/);
    assert.deepEqual(names(dataDir).filter((n) => n.startsWith('.restore-')), [], 'no staging directory left');
    assert.ok(names(dataDir).some((n) => n.startsWith('pg.before-restore-')), 'the old database is still kept aside');
  });

  it('a crafted backup cannot write outside the staging directory (a symlink entry and a file through it)', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-outside-'));
    const src = fs.mkdtempSync(path.join(work, 'crafted-'));
    try {
      fs.writeFileSync(path.join(src, 'PG_VERSION'), '17\n');
      fs.symlinkSync(outside, path.join(src, 'evil'));
      const first = await tarCreate({ gzip: true, cwd: src, portable: true }, ['PG_VERSION', 'evil']);
      // The second archive's 'evil/pwn' would land in `outside` if 'evil' were extracted as the symlink.
      fs.rmSync(path.join(src, 'evil'));
      fs.mkdirSync(path.join(src, 'evil'));
      fs.writeFileSync(path.join(src, 'evil', 'pwn'), 'written through the link');
      const second = await tarCreate({ gzip: false, cwd: src, portable: true }, ['evil/pwn']);
      // One tar stream: the symlink entry, then the file under it (the end blocks of the first dropped).
      const firstTar = zlib.gunzipSync(first);
      const crafted = zlib.gzipSync(Buffer.concat([firstTar.subarray(0, tarBody(firstTar)), second]));
      const dataDir = path.join(work, 'crafted-target');
      await assert.rejects(restoreEmbedded(dataDir, new Blob([crafted])), codeOf('BACKUP_INVALID'));
      assert.deepEqual(fs.readdirSync(outside), [], 'nothing written outside');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses a backup of a newer release that lacks one of this release\'s migrations (DATABASE_TOO_NEW), changing nothing', async () => {
    const last = Object.keys(MIGRATIONS).at(-1)!;
    const newer = await backupOf(async (db) => {
      await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_from_a_newer_release', '2030-01-01T00:00:00.000Z')`.execute(db);
      await sql`DELETE FROM kysely_migration WHERE name = ${last}`.execute(db);
    });
    const dataDir = await populated('newer');
    const before = names(dataDir);
    await assert.rejects(restoreEmbedded(dataDir, newer, { force: true }), codeOf('DATABASE_TOO_NEW'));
    assert.deepEqual(names(dataDir), before, 'no database kept aside, no staging directory left');
    assert.equal(await marker(dataDir), 'old', 'the existing database is in place');
  });

  it('refuses a backup sealed with another master key than the configured one (MASTER_KEY_MISMATCH), changing nothing; with its key it restores', async () => {
    const sealedWithA = await backupOf((db) => putInstanceSetting(db, 'master_key_check', keyA));
    const dataDir = await populated('foreign');
    // A restore interrupted earlier (a crash during the load) left its staging directory: never the database.
    fs.mkdirSync(path.join(dataDir, '.restore-1', 'pg'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, '.restore-1', 'pg', 'PG_VERSION'), '17\n');
    const before = names(dataDir);
    await assert.rejects(restoreEmbedded(dataDir, sealedWithA, { force: true, keyFingerprint: fingerprint(keyB) }), codeOf('MASTER_KEY_MISMATCH'));
    assert.deepEqual(names(dataDir).filter((n) => n !== '.restore-1'), before.filter((n) => n !== '.restore-1'));
    assert.equal(await marker(dataDir), 'old');

    const done = await restoreEmbedded(dataDir, sealedWithA, { force: true, keyFingerprint: fingerprint(keyA) });
    assert.equal(done.masterKeyFingerprint, fingerprint(keyA));
    assert.deepEqual(done.counts, { clients: 0, users: 0, face_templates: 0 });
    assert.ok(done.keptAs && fs.existsSync(path.join(done.keptAs, 'PG_VERSION')), 'the old database is kept aside');
    assert.equal(await marker(dataDir), null, 'the backup is in place');
    assert.deepEqual(names(dataDir).filter((n) => n.startsWith('.restore-')), [], 'no staging directory left');
  });
});
