import type { CircuitPolicy } from '../../db/repositories/webhook-circuits.repository.ts';

/**
 * Per-endpoint circuit breaker of the dispatcher (issue 9.8). After `failures` attempts in a row fail
 * (error, timeout or non-2xx), the endpoint's circuit opens: its deliveries stay pending but are not
 * claimed for `openMs` (doubling while it keeps failing, up to `maxOpenMs`). Then it is half-open: one
 * delivery tries the endpoint; a success closes the circuit, a failure opens it again.
 *
 * The state lives in the endpoint's row (db/repositories/webhook-circuits.repository.ts), not in a
 * process: several instances on one database count the failures together, pause the endpoint
 * together and send one probe between them, as one dispatcher would. Before, each process kept its
 * own breaker, so N instances sent a failing endpoint N times the attempts and N probes at once.
 */
export function circuitPolicy(options: { failures?: number; openMs?: number; maxOpenMs?: number } = {}): CircuitPolicy {
  return { failures: options.failures ?? 5, openMs: options.openMs ?? 30_000, maxOpenMs: options.maxOpenMs ?? 600_000 };
}
