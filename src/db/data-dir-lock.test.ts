import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { acquireDataDirLock, lockPath, readLock } from './data-dir-lock.ts';

const dirs: string[] = [];
const scratch = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A process that is alive for the whole test and is not this one. */
const livePid = process.ppid;

describe('data directory lock', () => {
  it('taking and releasing locks again and again adds no exit listener per lock', () => {
    const dir = scratch();
    acquireDataDirLock(dir, 'cli')();
    const before = process.listenerCount('exit');
    for (let i = 0; i < 20; i++) acquireDataDirLock(dir, 'cli')();
    assert.equal(process.listenerCount('exit'), before);
  });

  it('a lock still held when the process exits is released', () => {
    const dir = scratch();
    const lib = new URL('./data-dir-lock.ts', import.meta.url).href;
    const script = `import fs from 'node:fs'; import { acquireDataDirLock } from ${JSON.stringify(lib)}; acquireDataDirLock(${JSON.stringify(dir)}, 'cli'); process.stdout.write(String(fs.existsSync(${JSON.stringify(lockPath(dir))})));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.stdout, 'true', r.stderr);
    assert.equal(fs.existsSync(lockPath(dir)), false);
  });

  it('a lock left before a reboot is stale even when its pid now belongs to a live process (power loss)', () => {
    const dir = scratch();
    fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: livePid, kind: 'server', started_at: '2026-01-01T00:00:00.000Z', boot_id: 'a-boot-before-the-power-loss' }));
    const release = acquireDataDirLock(dir, 'server');
    assert.equal(readLock(dir)?.pid, process.pid);
    assert.ok(readLock(dir)?.boot_id, 'the new lock records this boot');
    release();
  });

  it('a live owner of this boot keeps it', () => {
    const dir = scratch();
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: livePid, kind: 'server', started_at: new Date().toISOString(), boot_id: boot }));
    assert.throws(() => acquireDataDirLock(dir, 'cli'), (e: { code?: string }) => e.code === 'DATA_DIR_LOCKED');
    assert.equal(readLock(dir)?.pid, livePid);
  });

  it('two takeovers of one stale lock: the one that moved the other\'s fresh lock puts it back and gives way', () => {
    const dir = scratch();
    const file = lockPath(dir);
    fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, kind: 'server', started_at: '2026-01-01T00:00:00.000Z' })); // dead
    const other = JSON.stringify({ pid: livePid, kind: 'server', started_at: new Date().toISOString() });
    // The other process, between our "its owner is dead" and our rename, took the stale lock over itself.
    const rename = fs.renameSync;
    let raced = false;
    fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
      if (!raced && String(from) === file) {
        raced = true;
        fs.rmSync(file);
        fs.writeFileSync(file, other);
      }
      return rename(from, to);
    };
    try {
      assert.throws(() => acquireDataDirLock(dir, 'server'), (e: { code?: string }) => e.code === 'DATA_DIR_LOCKED');
    } finally {
      fs.renameSync = rename;
    }
    assert.ok(raced);
    assert.equal(fs.readFileSync(file, 'utf8'), other, "the other process's lock is in place again");
  });
});
