import assert from 'node:assert/strict';
import { isAppError } from '../../src/errors.ts';

/** Asserts that `p` rejects with the coded error `code` (an AppError, not any error). */
export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isAppError(e), `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}
