/** A condition polled by waitFor: a truthy value ends the wait and is returned. */
export type Check<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

/**
 * Polls `fn` every `stepMs` until it returns a truthy value (returned), or throws "timed out waiting for
 * <what>" after `timeoutMs`: for outcomes that arrive on their own time (a webhook delivery, a restart).
 * @example const got = await waitFor('the delivery', () => received.length === 1 && received[0], 10_000)
 */
export async function waitFor<T>(what: string, fn: Check<T>, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
