import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, WebhookBackoff, WebhookDeliveryStatus } from '../schema.ts';
import { CLOSED_CIRCUIT, takeProbe } from './webhook-circuits.repository.ts';

export interface EndpointRow {
  id: string;
  client_id: string;
  url: string;
  events: string[];
  secret: string;
  is_active: boolean;
  max_retries: number;
  backoff_strategy: WebhookBackoff;
  retry_delay: number;
  created_at: Date;
  updated_at: Date;
}

export type EndpointChanges = Partial<Pick<EndpointRow, 'url' | 'events' | 'secret' | 'is_active' | 'max_retries' | 'backoff_strategy' | 'retry_delay'>>;

/** A delivery taken by one sender: everything needed to sign, send and record it. */
export interface ClaimedDelivery {
  id: string;
  claim_id: string;
  client_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  /** Attempts before this one. */
  attempts: number;
  url: string;
  /** Sealed (services/webhooks/secret-box.ts). */
  secret: string;
  is_active: boolean;
  max_retries: number;
  backoff_strategy: WebhookBackoff;
  retry_delay: number;
  /** Null when the outbox row is gone (retention, tenant deletion). */
  payload: Record<string, unknown> | null;
  event_created_at: Date | null;
  /** X-Request-Id of the request that caused the event (null for background work, pings). */
  request_id: string | null;
}

const ENDPOINT_COLUMNS = [
  'id',
  'client_id',
  'url',
  'events',
  'secret',
  'is_active',
  'max_retries',
  'backoff_strategy',
  'retry_delay',
  'created_at',
  'updated_at',
] as const;

/**
 * `with recursive pending_endpoints(endpoint_id)`: the endpoints with pending deliveries (and a last null
 * row), found by skipping from one endpoint_id to the next in webhook_deliveries_endpoint_due_idx
 * (migration 0017): one index descent per endpoint, however many deliveries each has pending.
 */
const PENDING_ENDPOINTS = sql`
  with recursive pending_endpoints(endpoint_id) as (
    (select endpoint_id from webhook_deliveries where status = 'pending' order by endpoint_id limit 1)
    union all
    select (select d.endpoint_id from webhook_deliveries d
            where d.status = 'pending' and d.endpoint_id > p.endpoint_id order by d.endpoint_id limit 1)
    from pending_endpoints p where p.endpoint_id is not null
  )`;

/** `now() + ms` in the database clock (every instance schedules against the same clock). */
const inMs = (ms: number) => sql<Date>`now() + ${Math.max(0, Math.round(ms))} * interval '1 millisecond'`;

/**
 * Webhook endpoints and deliveries (the delivery log and its replays: webhook-logs.repository.ts). Tenant-facing queries are scoped by client in the query;
 * the dispatcher's fan-out and claim run across tenants with `FOR UPDATE SKIP LOCKED`, so several
 * API instances on one PostgreSQL never take the same event or delivery at the same time.
 */
export class WebhooksRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  // ---- endpoints ----

  async countEndpoints(clientId: string, db: Kysely<Database> | Transaction<Database> = this.db): Promise<number> {
    const row = await db.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', clientId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Inserts the endpoint unless the client already has `max`: undefined then. The count and the insert
   * run under the client's row lock, so creations sent at once cannot pass the limit together.
   */
  async insertEndpointWithin(max: number, row: Omit<EndpointRow, 'created_at' | 'updated_at'>): Promise<EndpointRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await trx.selectFrom('clients').select('id').where('id', '=', row.client_id).forUpdate().executeTakeFirst();
      if ((await this.countEndpoints(row.client_id, trx)) >= max) return undefined;
      return (await trx
        .insertInto('webhook_endpoints')
        .values({ ...row, events: JSON.stringify(row.events) })
        .returning(ENDPOINT_COLUMNS)
        .executeTakeFirstOrThrow()) as EndpointRow;
    });
  }

  async listEndpoints(clientId: string, limit: number, offset: number): Promise<{ total: number; rows: EndpointRow[] }> {
    const [rows, total] = await Promise.all([
      this.db
        .selectFrom('webhook_endpoints')
        .select(ENDPOINT_COLUMNS)
        .where('client_id', '=', clientId)
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .limit(limit)
        .offset(offset)
        .execute(),
      this.countEndpoints(clientId),
    ]);
    return { total, rows: rows as EndpointRow[] };
  }

  async findEndpoint(clientId: string, id: string): Promise<EndpointRow | undefined> {
    return (await this.db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('client_id', '=', clientId).where('id', '=', id).executeTakeFirst()) as
      | EndpointRow
      | undefined;
  }

  /** `closeCircuit`: the endpoint's circuit breaker closes in the same write (its deliveries resume now). */
  async updateEndpoint(clientId: string, id: string, changes: EndpointChanges, opts: { closeCircuit?: boolean } = {}): Promise<EndpointRow | undefined> {
    const { events, ...rest } = changes;
    return (await this.db
      .updateTable('webhook_endpoints')
      .set({
        ...rest,
        ...(events ? { events: JSON.stringify(events) } : {}),
        ...(opts.closeCircuit ? CLOSED_CIRCUIT : {}),
        updated_at: sql<Date>`now()`,
      })
      .where('client_id', '=', clientId)
      .where('id', '=', id)
      .returning(ENDPOINT_COLUMNS)
      .executeTakeFirst()) as EndpointRow | undefined;
  }

  /** Deletes the endpoint and (cascade) its deliveries. */
  async deleteEndpoint(clientId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('webhook_endpoints').where('client_id', '=', clientId).where('id', '=', id).returning('id').executeTakeFirst();
    return !!r;
  }

  // ---- dispatcher ----

  /**
   * Turns up to `limit` undispatched outbox events into one pending delivery per matching active
   * endpoint of the same client, and marks them dispatched, in one transaction. Returns how many
   * events were taken (fewer than `limit`: nothing left). Safe to run concurrently from several instances.
   *
   * Half the batch is the oldest events, half the newest: a tenant with a backlog of thousands of
   * events (a bulk import, a dispatcher that was down) would otherwise hold every other tenant's new
   * events behind its own until all of them were fanned out. Both halves are index scans of the
   * undispatched events (events_undispatched_idx), so a batch costs the same whatever the backlog;
   * the oldest half keeps the backlog draining.
   */
  async fanOut(limit: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const half = (direction: 'asc' | 'desc', n: number, except: string[]) => {
        let q = trx.selectFrom('events').select('id').where('dispatched_at', 'is', null);
        // This transaction's own locks are not skipped: leave out the oldest half (many events can share a created_at).
        if (except.length) q = q.where('id', 'not in', except);
        return q.orderBy('created_at', direction).limit(n).forUpdate().skipLocked().execute();
      };
      const oldest = await half('asc', Math.ceil(limit / 2), []);
      // Fewer than asked: every undispatched event not locked by another instance is already among them.
      const more = oldest.length === Math.ceil(limit / 2);
      const newest = limit > 1 && more ? await half('desc', Math.floor(limit / 2), oldest.map((e) => e.id)) : [];
      const events = [...oldest, ...newest];
      if (!events.length) return 0;
      const ids = events.map((e) => e.id);
      await trx
        .insertInto('webhook_deliveries')
        .columns(['id', 'client_id', 'endpoint_id', 'event_id', 'event_type'])
        .expression((eb) =>
          eb
            .selectFrom('events as ev')
            .innerJoin('webhook_endpoints as e', (join) =>
              join
                .onRef('e.client_id', '=', 'ev.client_id')
                .on('e.is_active', '=', true)
                .on(sql<boolean>`e.events @> jsonb_build_array(ev.event_type)`)
                // An endpoint receives what happens after it is registered, not an event recorded just before
                // that was still waiting to be fanned out.
                .onRef('e.created_at', '<=', 'ev.created_at'),
            )
            .select([sql<string>`gen_random_uuid()`.as('id'), 'ev.client_id', 'e.id as endpoint_id', 'ev.id as event_id', 'ev.event_type'])
            .where('ev.id', 'in', ids),
        )
        .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
        .execute();
      await trx.updateTable('events').set({ dispatched_at: sql<Date>`now()` }).where('id', 'in', ids).execute();
      return ids.length;
    });
  }

  /**
   * Due deliveries for a fair claim: at most `perEndpoint` per endpoint and `perClient` per client
   * (earliest first), so one tenant's backlog cannot fill the candidate list. Endpoints whose circuit is
   * open are left out, and a half-open one gives one candidate, its probe (webhook-circuits.repository.ts).
   * Nothing is locked: claimIds() does that.
   *
   * Read per endpoint through webhook_deliveries_endpoint_due_idx (migration 0017): the endpoints with
   * pending deliveries (PENDING_ENDPOINTS) each give their first few due deliveries, so a pass costs the
   * same whether an endpoint has 2 or 10,000 due. Before, every due delivery was read and sorted on every
   * pass (a replayed backlog of 10,000 drained at about 15 a second).
   */
  async dueCandidates(opts: { perEndpoint: number; perClient: number; limit: number }): Promise<Array<{ id: string; client_id: string; endpoint_id: string }>> {
    const { rows } = await sql<{ id: string; client_id: string; endpoint_id: string }>`
      ${PENDING_ENDPOINTS}
      select id, client_id, endpoint_id from (
        select c.id, c.client_id, c.endpoint_id, c.next_attempt_at,
               row_number() over (partition by c.client_id order by c.next_attempt_at, c.id) as rn_client
        from pending_endpoints p
        join webhook_endpoints e on e.id = p.endpoint_id
        cross join lateral (
          select d.id, d.client_id, d.endpoint_id, d.next_attempt_at
          from webhook_deliveries d
          where d.endpoint_id = e.id and d.status = 'pending' and d.next_attempt_at <= now()
          order by d.next_attempt_at, d.id
          limit case when e.circuit_open_until is not null then 1 else ${opts.perEndpoint}::integer end
        ) c
        where e.circuit_open_until is null or e.circuit_open_until <= now()
      ) per_client
      where rn_client <= ${opts.perClient}
      order by next_attempt_at, id
      limit ${opts.limit}`.execute(this.db);
    return rows;
  }

  /**
   * Claims the given deliveries that are still pending and due (others' claims are skipped, not awaited).
   * A delivery of an endpoint whose circuit is open is skipped; one of a half-open endpoint is claimed
   * only with the endpoint's probe (takeProbe), so across instances one delivery at a time tries it.
   */
  async claimIds(ids: string[], leaseMs: number): Promise<ClaimedDelivery[]> {
    if (!ids.length) return [];
    return this.db.transaction().execute(async (trx) => {
      // `status` is tested as "neither finished state" (the CHECK allows only three) so that no partial index of
      // pending deliveries matches and the ids are looked up by key: after a bulk replay the statistics still
      // say nothing is pending (the embedded database never analyzes by itself), and the planner walked the
      // whole due index (dropped in migration 0017) to find these few ids. With each delivery comes its
      // endpoint's circuit (read, not locked: takeProbe settles a half-open one).
      const due = await trx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
        .select(['d.id', 'd.endpoint_id', sql<boolean>`e.circuit_open_until > now()`.as('open'), sql<boolean>`e.circuit_open_until <= now()`.as('half_open')])
        .where('d.id', 'in', ids)
        .where('d.status', 'not in', ['delivered', 'failed'])
        .where('d.next_attempt_at', '<=', sql<Date>`now()`)
        .forUpdate('d')
        .skipLocked()
        .execute();
      if (!due.length) return [];
      const claimed: string[] = [];
      // Deliveries of closed circuits are claimed in one UPDATE (each gets its own claim id), not one statement each.
      const plain: string[] = [];
      for (const { id, endpoint_id, ...c } of due) {
        if (c.open) continue;
        if (!c.half_open) {
          plain.push(id);
          continue;
        }
        const claimId = crypto.randomUUID();
        if (!(await takeProbe(trx, endpoint_id, claimId, leaseMs))) continue;
        await trx.updateTable('webhook_deliveries').set({ claim_id: claimId, next_attempt_at: inMs(leaseMs) }).where('id', '=', id).execute();
        claimed.push(id);
      }
      if (plain.length) {
        await trx.updateTable('webhook_deliveries').set({ claim_id: sql<string>`gen_random_uuid()`, next_attempt_at: inMs(leaseMs) }).where('id', 'in', plain).execute();
        claimed.push(...plain);
      }
      return claimed.length ? this.#claimed(trx, claimed) : [];
    });
  }

  async #claimed(db: Kysely<Database>, ids: string[]): Promise<ClaimedDelivery[]> {
    const rows = await db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .leftJoin('events as ev', 'ev.id', 'd.event_id')
      .select([
        'd.id',
        'd.claim_id',
        'd.client_id',
        'd.endpoint_id',
        'd.event_id',
        'd.event_type',
        'd.attempts',
        'e.url',
        'e.secret',
        'e.is_active',
        'e.max_retries',
        'e.backoff_strategy',
        'e.retry_delay',
        'ev.payload',
        'ev.created_at as event_created_at',
        'ev.request_id',
      ])
      .where('d.id', 'in', ids)
      .execute();
    return rows as ClaimedDelivery[];
  }

  /**
   * A `webhook.test` ping: writes its outbox row (already dispatched: it goes to this endpoint only)
   * and its delivery, claimed by the caller, in one transaction.
   */
  async insertClaimedPing(clientId: string, endpointId: string, data: Record<string, unknown>, leaseMs: number): Promise<ClaimedDelivery> {
    return this.db.transaction().execute(async (trx) => {
      const eventId = crypto.randomUUID();
      const id = crypto.randomUUID();
      await trx
        .insertInto('events')
        .values({ id: eventId, client_id: clientId, event_type: 'webhook.test', payload: JSON.stringify(data), dispatched_at: sql<Date>`now()` })
        .execute();
      await trx
        .insertInto('webhook_deliveries')
        .values({ id, client_id: clientId, endpoint_id: endpointId, event_id: eventId, event_type: 'webhook.test', claim_id: crypto.randomUUID(), next_attempt_at: inMs(leaseMs) })
        .execute();
      const [claimed] = await this.#claimed(trx, [id]);
      return claimed!;
    });
  }

  /** Records a 2xx. False when the claim was lost (expired and retaken, or re-queued meanwhile). */
  async markDelivered(id: string, claimId: string, r: { statusCode: number; ms: number }): Promise<boolean> {
    const res = await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        status: 'delivered',
        attempts: eb('attempts', '+', 1),
        claim_id: null,
        last_status_code: r.statusCode,
        last_error: null,
        response_ms: r.ms,
        delivered_at: sql<Date>`now()`,
      }))
      .where('id', '=', id)
      .where('claim_id', '=', claimId)
      .returning('id')
      .executeTakeFirst();
    return !!res;
  }

  /** Records a failed attempt: pending again in `retryInMs`, or failed for good when null. */
  async markAttemptFailed(
    id: string,
    claimId: string,
    r: { statusCode: number | null; error: string; ms: number | null; retryInMs: number | null; countAttempt?: boolean },
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        status: r.retryInMs === null ? 'failed' : 'pending',
        attempts: r.countAttempt === false ? eb.ref('attempts') : eb('attempts', '+', 1),
        claim_id: null,
        next_attempt_at: inMs(r.retryInMs ?? 0),
        last_status_code: r.statusCode,
        last_error: r.error.slice(0, 1000),
        response_ms: r.ms,
      }))
      .where('id', '=', id)
      .where('claim_id', '=', claimId)
      .returning('id')
      .executeTakeFirst();
    return !!res;
  }

  /** Gives a claim back without counting an attempt (shutdown interrupted the send). */
  async releaseClaim(id: string, claimId: string): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ claim_id: null, next_attempt_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('claim_id', '=', claimId)
      .execute();
  }

  /**
   * Milliseconds until the earliest pending delivery is due (null: none pending): the earliest of each
   * endpoint's first pending delivery, read through webhook_deliveries_endpoint_due_idx like dueCandidates.
   */
  async msUntilNextDue(): Promise<number | null> {
    const { rows } = await sql<{ ms: number | null }>`
      ${PENDING_ENDPOINTS}
      select extract(epoch from (min(first.next_attempt_at) - now())) * 1000 as ms
      from pending_endpoints p
      cross join lateral (
        select d.next_attempt_at from webhook_deliveries d
        where d.endpoint_id = p.endpoint_id and d.status = 'pending'
        order by d.next_attempt_at limit 1
      ) first`.execute(this.db);
    const ms = rows[0]?.ms;
    return ms == null ? null : Math.max(0, Number(ms));
  }

  /** Deletes finished deliveries (delivered or failed) created more than `days` ago. */
  async pruneFinished(days: number): Promise<void> {
    await this.db
      .deleteFrom('webhook_deliveries')
      .where('status', 'in', ['delivered', 'failed'])
      .where('created_at', '<', sql<Date>`now() - ${days} * interval '1 day'`)
      .execute();
  }
}
