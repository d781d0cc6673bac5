import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * `npm test` without Chromium must not pass quietly with "1 skipped": the closing lines name every suite
 * that did not run and what to install (issue 15.1).
 */
test('npm test names the suites it skipped and what to install', async () => {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
    execFile(
      process.execPath,
      [path.join(root, 'scripts/test.mjs'), path.join(root, 'test/web/sso-page.test.ts'), path.join(root, 'test/web/streaming.test.ts')],
      { cwd: root, env: { ...process.env, NODE_TEST_CONTEXT: undefined, CI: '', WAJAH_CHROMIUM: '/nonexistent/chromium' }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => (err ? reject(Object.assign(err, { stdout })) : resolve({ stdout })),
    ),
  );
  // After node's own closing summary (its last line is duration_ms).
  const tail = stdout.slice(stdout.lastIndexOf('duration_ms'));
  assert.match(tail, /2 test suite\(s\) were SKIPPED and did not run/);
  assert.match(tail, /SSO page test: missing \/nonexistent\/chromium/);
  assert.match(tail, /WebRTC browser test: missing \/nonexistent\/chromium/);
  assert.match(tail, /apt-get install chromium/);
});
