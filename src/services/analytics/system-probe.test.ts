import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { diskUsage } from './system-probe.ts';

test('disk usage is what df reports for the same file system (issue 15.6)', async () => {
  const dir = os.tmpdir();
  const df = execFileSync('df', ['-P', dir], { encoding: 'utf8' }).trim().split('\n').pop()!.split(/\s+/);
  const [used, avail] = [Number(df[2]), Number(df[3])];
  const expected = used / (used + avail);
  const got = diskUsage(await fs.promises.statfs(dir));
  assert.ok(Math.abs(got - expected) < 0.01, `diskUsage ${got.toFixed(4)}, df ${expected.toFixed(4)} (${df[4]})`);
});
