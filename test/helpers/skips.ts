import fs from 'node:fs';

/**
 * Records a suite that did not run, for the closing summary of `npm test` (scripts/test.mjs sets
 * WAJAH_TEST_SKIP_LOG and prints every entry after node's own summary, with what to install).
 */
export function recordSkip(suite: string, reason: string): void {
  console.log(`# ${suite} skipped: ${reason}`);
  const log = process.env.WAJAH_TEST_SKIP_LOG;
  if (log) fs.appendFileSync(log, `${JSON.stringify({ suite, reason })}\n`);
}
