import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** When an endpoint's circuit opens and for how long (services/webhooks/circuit-breaker.ts). */
export interface CircuitPolicy {
  /** Failed attempts in a row that open the circuit. */
  failures: number;
  /** The first pause, in ms; each failed try after a pause doubles it… */
  openMs: number;
  /** …up to this. */
  maxOpenMs: number;
}

/** The columns of a closed circuit (a success, or the tenant fixing the endpoint). */
export const CLOSED_CIRCUIT = { circuit_failures: 0, circuit_open_ms: 0, circuit_open_until: null, circuit_probe: null } as const;

/**
 * The webhook circuit breaker's state, in the endpoint's row (migration 0011), so that every dispatching
 * instance on one database sees the same circuit: the failures in a row are counted across instances,
 * an open circuit pauses the endpoint for all of them, and after the pause exactly one delivery, in
 * whichever instance claims it first, tries the endpoint (the probe).
 *
 * A row is closed (`circuit_open_until` null), open (later than now) or half-open (now or earlier). Times
 * are the database's clock, like the deliveries' schedule.
 */
export class WebhookCircuitsRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /**
   * Records an attempt's outcome on its endpoint's circuit. A success closes it. A failure counts; it
   * opens a closed circuit that reaches `policy.failures`, and opens again, for twice as long, a circuit
   * whose probe (`claimId`) failed. A late failure of an attempt claimed before the circuit opened only
   * counts: it does not lengthen the pause. Returns true when this failure opened the circuit.
   */
  async record(endpointId: string, claimId: string, ok: boolean, policy: CircuitPolicy): Promise<boolean> {
    if (ok) {
      await this.db
        .updateTable('webhook_endpoints')
        .set(CLOSED_CIRCUIT)
        .where('id', '=', endpointId)
        // Nothing to write for an endpoint that never failed: most successes.
        .where((eb) => eb.or([eb('circuit_failures', '<>', 0), eb('circuit_open_until', 'is not', null)]))
        .execute();
      return false;
    }
    // The old values, locked, so that two instances' failures count one after the other.
    const opens = sql<boolean>`(o.circuit_failures + 1 >= ${policy.failures} and (o.circuit_open_until is null or o.circuit_probe = ${claimId}))`;
    const nextMs = sql<number>`(case when o.circuit_open_ms = 0 then ${policy.openMs}::integer else least(${policy.maxOpenMs}::integer, o.circuit_open_ms * 2) end)`;
    const { rows } = await sql<{ opened: boolean }>`
      update webhook_endpoints e set
        circuit_failures = o.circuit_failures + 1,
        circuit_open_ms = case when ${opens} then ${nextMs} else o.circuit_open_ms end,
        circuit_open_until = case when ${opens} then now() + ${nextMs} * interval '1 millisecond' else o.circuit_open_until end,
        circuit_probe = case when o.circuit_probe = ${claimId} then null else o.circuit_probe end
      from (select id, circuit_failures, circuit_open_ms, circuit_open_until, circuit_probe from webhook_endpoints where id = ${endpointId} for update) o
      where e.id = o.id
      returning ${opens} as opened`.execute(this.db);
    return rows[0]?.opened === true;
  }

  /** The circuit of one endpoint (the tests read it; an operator reads the same columns of webhook_endpoints). */
  async state(endpointId: string): Promise<{ failures: number; openMs: number; openUntil: Date | null; probing: boolean } | undefined> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select(['circuit_failures', 'circuit_open_ms', 'circuit_open_until', 'circuit_probe'])
      .where('id', '=', endpointId)
      .executeTakeFirst();
    return row && { failures: row.circuit_failures, openMs: row.circuit_open_ms, openUntil: row.circuit_open_until, probing: row.circuit_probe !== null };
  }
}

/**
 * Inside a claim: takes the probe of a half-open endpoint for the delivery claimed as `claimId`. The
 * circuit reads as open again for the claim's lease, so no other instance tries the endpoint meanwhile
 * (and if this one dies mid-send, the circuit half-opens again when the lease ends). False when the
 * endpoint is not half-open any more (another claim took the probe first).
 */
export async function takeProbe(db: Db, endpointId: string, claimId: string, leaseMs: number): Promise<boolean> {
  const taken = await db
    .updateTable('webhook_endpoints')
    .set({ circuit_open_until: sql<Date>`now() + ${Math.max(0, Math.round(leaseMs))} * interval '1 millisecond'`, circuit_probe: claimId })
    .where('id', '=', endpointId)
    .where('circuit_open_until', '<=', sql<Date>`now()`)
    .returning('id')
    .executeTakeFirst();
  return !!taken;
}
