import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { dataFile } from '../helpers/face-fixtures.ts';
import { freePort } from '../helpers/ports.ts';
import { backupFileName } from '../../src/db/backup.ts';

const root = path.resolve(import.meta.dirname, '../..');
const ADMIN = 'backup-admin-token-0123456789';
const FR = 'faces_extra/face_recognition';


/** `wajah …` with the data directory given; resolves with the exit code and both outputs. */
function cli(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/wajah.js', ...args], { cwd: root, env: { ...process.env, WAJAH_DATA_DIR: dataDir, WAJAH_MASTER_KEY: '', LOG_LEVEL: 'error' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Backup and restore of the embedded database (docs/operations.md): a backup taken while the server runs,
 * restored into a new data directory, opens with the original master key and still verifies the enrolled
 * face; it is a point in time; restore refuses a live directory, a populated one (unless --force) and a
 * file that is not a backup, changing nothing.
 */
describe('backup and restore of the embedded database', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-backup-'));
  const [dirA, dirB] = [path.join(work, 'a'), path.join(work, 'b')];
  const servers: ChildProcess[] = [];
  let auth: Record<string, string> = {};
  let backupFile = '';
  after(() => {
    for (const s of servers) s.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  const start = async (dataDir: string) => {
    const port = await freePort();
    const proc = spawn(process.execPath, ['src/server.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', WAJAH_DATA_DIR: dataDir, WAJAH_ADMIN_TOKEN: ADMIN, WAJAH_WORKERS: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    proc.stdout!.on('data', (d) => (logs += d));
    proc.stderr!.on('data', (d) => (logs += d));
    servers.push(proc);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) return { base, proc, logs: () => logs };
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`server on ${dataDir} did not become ready:\n${logs}`);
  };
  const stop = async (proc: ChildProcess) => {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  const verify = (base: string, user: string, file: string) => {
    const f = new FormData();
    f.append('user_id', user);
    f.append('image', new Blob([new Uint8Array(dataFile(file))], { type: 'image/jpeg' }), 'face.jpg');
    return fetch(`${base}/api/v1/auth/authentication/verify/`, { method: 'POST', headers: auth, body: f });
  };

  test('a backup while the server runs is a consistent point in time; restored elsewhere it verifies the same face', async () => {
    const a = await start(dirA);
    const created = await fetch(`${a.base}/api/v1/admin/clients/`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Backup', tier: 'enterprise' }) });
    const c = (await created.json()) as { api_key: string; secret_key: string };
    auth = { authorization: `ApiKey ${c.api_key}:${c.secret_key}` };
    const user = (id: string, name: string) => fetch(`${a.base}/api/v1/clients/users/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ external_id: id, name }) });
    assert.equal((await user('EMP1', 'Barack Obama')).status, 201);
    const f = new FormData();
    f.append('user_id', 'EMP1');
    f.append('image', new Blob([new Uint8Array(dataFile(`${FR}/obama/obama_01.jpg`))], { type: 'image/jpeg' }), 'face.jpg');
    assert.equal((await fetch(`${a.base}/api/v1/auth/enrollment/direct/`, { method: 'POST', headers: auth, body: f })).status, 201);

    const out = await cli(dirA, ['backup', '--out', work]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /through the running server/);
    const info = JSON.parse(out.stdout) as { file: string; bytes: number; master_key_fingerprint: string };
    backupFile = info.file;
    assert.ok(fs.statSync(backupFile).size === info.bytes && info.bytes > 100_000);
    assert.equal(fs.statSync(backupFile).mode & 0o077, 0, 'the backup file is private');
    assert.match(info.master_key_fingerprint, /^[0-9a-f]{12}$/);
    // After the backup: not in it.
    assert.equal((await user('EMP2', 'Later')).status, 201);
    await stop(a.proc);

    // Restore into an empty directory that has no master key yet: it says which key the data needs.
    const restored = await cli(dirB, ['restore', '--from', backupFile]);
    assert.equal(restored.code, 0, restored.stderr);
    // Every restored file is the service user's alone (the embedded database wrote them 0666).
    const open = fs.readdirSync(dirB, { recursive: true, encoding: 'utf8' }).filter((f) => (fs.statSync(path.join(dirB, f)).mode & 0o077) !== 0);
    assert.deepEqual(open.slice(0, 5), [], `${open.length} restored files readable by others`);
    const r = JSON.parse(restored.stdout) as { counts: { users: number; face_templates: number }; master_key_fingerprint: string; master_key_present: boolean };
    assert.deepEqual(r.counts, { ...r.counts, users: 1, face_templates: 1 });
    assert.equal(r.master_key_fingerprint, info.master_key_fingerprint);
    assert.equal(r.master_key_present, false);
    assert.match(restored.stderr, new RegExp(`needs the master key of fingerprint ${info.master_key_fingerprint}`));

    fs.copyFileSync(path.join(dirA, 'master.key'), path.join(dirB, 'master.key'));
    const b = await start(dirB);
    const same = await verify(b.base, 'EMP1', `${FR}/obama/obama_02.jpg`);
    assert.equal(same.status, 200);
    assert.equal(((await same.json()) as { result: { authenticated: boolean } }).result.authenticated, true);
    const other = await verify(b.base, 'EMP1', `${FR}/biden/biden_01.jpg`);
    assert.equal(((await other.json()) as { result: { authenticated: boolean } }).result.authenticated, false);
    const later = await fetch(`${b.base}/api/v1/clients/users/EMP2/`, { headers: auth });
    assert.equal(later.status, 404);

    // A running server's directory cannot be restored over.
    const live = await cli(dirB, ['restore', '--from', backupFile, '--force']);
    assert.equal(live.code, 1);
    assert.match(live.stderr, /DATA_DIR_LOCKED: .* is in use by a running Wajah server \(pid \d+\), and a backup is restored only into a directory no server uses; stop it first/);
    await stop(b.proc);
  });

  test('restore refuses a populated directory without --force and a file that is not a backup, changing nothing', async () => {
    const populated = await cli(dirB, ['restore', '--from', backupFile]);
    assert.equal(populated.code, 1);
    assert.match(populated.stderr, /RESTORE_TARGET_NOT_EMPTY/);
    const truncated = path.join(work, 'truncated.tar.gz');
    fs.writeFileSync(truncated, fs.readFileSync(backupFile).subarray(0, 50_000));
    const before = fs.readdirSync(path.join(dirB, 'pg')).sort();
    const bad = await cli(dirB, ['restore', '--from', truncated, '--force']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BACKUP_INVALID/);
    // Said plainly, and no stray error from the database's own reading of the cut file.
    assert.match(bad.stderr, /damaged or cut short/);
    assert.doesNotMatch(bad.stderr, /TypeError/);
    assert.deepEqual(fs.readdirSync(path.join(dirB, 'pg')).sort(), before, 'the existing database is back in place');
    const notGzip = path.join(work, 'photo.tar.gz');
    fs.writeFileSync(notGzip, dataFile(`${FR}/obama/obama_01.jpg`));
    assert.match((await cli(dirB, ['restore', '--from', notGzip, '--force'])).stderr, /BACKUP_INVALID/);
    // --force keeps the old database aside instead of deleting it.
    const forced = await cli(dirB, ['restore', '--from', backupFile, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    const kept = (JSON.parse(forced.stdout) as { kept_aside: string }).kept_aside;
    assert.ok(fs.existsSync(path.join(kept, 'PG_VERSION')));
  });

  test('restore reads master.key in every form the server does (32 raw bytes): the report, not a crash after the restore', async () => {
    // The server accepts master.key as hex, base64 or 32 raw bytes; restore parsed only text, so with a raw key
    // it restored the data, then died with a RangeError and exit 1, and never printed what it had done.
    const dirC = path.join(work, 'c');
    fs.mkdirSync(dirC, { mode: 0o700 });
    const hex = fs.readFileSync(path.join(dirA, 'master.key'), 'utf8').trim();
    fs.writeFileSync(path.join(dirC, 'master.key'), Buffer.from(hex, 'hex'), { mode: 0o600 });
    const out = await cli(dirC, ['restore', '--from', backupFile]);
    assert.equal(out.code, 0, out.stderr);
    const r = JSON.parse(out.stdout) as { counts: { users: number }; master_key_present: boolean };
    assert.equal(r.counts.users, 1);
    assert.equal(r.master_key_present, true, 'the raw key is the one the data needs');
    // A key file that holds no key: still the report (the key does not fit), and a plain word on stderr.
    fs.writeFileSync(path.join(dirC, 'master.key'), 'not a key\n', { mode: 0o600 });
    const bad = await cli(dirC, ['restore', '--from', backupFile, '--force']);
    assert.equal(bad.code, 0, bad.stderr);
    assert.equal((JSON.parse(bad.stdout) as { master_key_present: boolean }).master_key_present, false);
    assert.match(bad.stderr, /does not hold a usable master key/);
    assert.doesNotMatch(bad.stderr, /RangeError|    at /);
  });

  test('a stopped data directory is backed up directly, into a private file even over an existing one', async () => {
    // The backup holds every tenant's sealed templates, photos, secrets and PIN hashes. Over an existing
    // file (a nightly --out latest.tar.gz made by another tool), the plain write kept that file's 0644.
    const target = path.join(work, 'offline.tar.gz');
    fs.writeFileSync(target, 'yesterday');
    fs.chmodSync(target, 0o644);
    const out = await cli(dirB, ['backup', '--out', target]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /stopped data directory/);
    assert.ok(fs.statSync(target).size > 100_000);
    assert.equal(fs.statSync(target).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith('offline.tar.gz')), ['offline.tar.gz'], 'no temporary file left');
  });

  test('a backup into a directory never replaces another backup, even one written the same second', async () => {
    // Two `wajah backup --out dir` in one second (two cron jobs, an operator and a script) got the same
    // name, and the second replaced the first. The files another backup wrote for the next seconds are
    // there first; this one must take a name of its own.
    const dir = fs.mkdtempSync(path.join(work, 'same-second-'));
    const now = Date.now();
    const taken = Array.from({ length: 30 }, (_, i) => backupFileName(new Date(now + i * 1000)));
    for (const name of taken) fs.writeFileSync(path.join(dir, name), 'the other backup');
    const out = await cli(dirB, ['backup', '--out', dir]);
    assert.equal(out.code, 0, out.stderr);
    const file = (JSON.parse(out.stdout) as { file: string }).file;
    assert.ok(!taken.includes(path.basename(file)), `${path.basename(file)} is a new name`);
    assert.match(path.basename(file), /^wajah-backup-.*Z-2\.tar\.gz$/);
    for (const name of taken) assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), 'the other backup');
    assert.ok(fs.statSync(file).size > 100_000);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !taken.includes(f)), [path.basename(file)], 'no temporary file left');
  });

  test('a missing --out directory or a --from that is not a file: a coded error on one line, not a stack trace', async () => {
    const noDir = await cli(dirB, ['backup', '--out', path.join(work, 'missing', 'x.tar.gz')]);
    assert.equal(noDir.code, 1);
    assert.match(noDir.stderr, /^error NOT_FOUND: No directory .*missing to write the backup into/m);
    assert.doesNotMatch(noDir.stderr, /ENOENT|    at /);
    const fromDir = await cli(path.join(work, 'd'), ['restore', '--from', work]);
    assert.equal(fromDir.code, 1);
    assert.match(fromDir.stderr, /^error NOT_FOUND: No file /m);
    assert.doesNotMatch(fromDir.stderr, /EISDIR|    at /);
  });
});
