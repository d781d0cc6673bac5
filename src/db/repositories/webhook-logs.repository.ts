import { sql, type Kysely } from 'kysely';
import type { Database, WebhookDeliveryStatus } from '../schema.ts';

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  url: string;
  event_id: string;
  event_type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  response_ms: number | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface DeliveryDetailRow extends DeliveryRow {
  payload: Record<string, unknown> | null;
  event_created_at: Date | null;
}

export interface DeliveryFilter {
  eventType?: string;
  status?: WebhookDeliveryStatus;
  endpointId?: string;
  from?: Date;
  to?: Date;
}

const DELIVERY_COLUMNS = [
  'd.id',
  'd.endpoint_id',
  'e.url',
  'd.event_id',
  'd.event_type',
  'd.status',
  'd.attempts',
  'd.next_attempt_at',
  'd.last_status_code',
  'd.last_error',
  'd.response_ms',
  'd.created_at',
  'd.delivered_at',
] as const;

/**
 * A tenant's delivery log (GET /webhooks/logs/…) and its replays (single and bulk retry): every query is
 * scoped by client. The dispatcher's side of deliveries (fan-out, claims, outcomes) is WebhooksRepository.
 */
export class WebhookLogsRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async listDeliveries(clientId: string, f: DeliveryFilter, limit: number, offset: number): Promise<{ total: number; rows: DeliveryRow[] }> {
    let q = this.db.selectFrom('webhook_deliveries as d').innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id').where('d.client_id', '=', clientId);
    if (f.eventType) q = q.where('d.event_type', '=', f.eventType);
    if (f.status) q = q.where('d.status', '=', f.status);
    if (f.endpointId) q = q.where('d.endpoint_id', '=', f.endpointId);
    if (f.from) q = q.where('d.created_at', '>=', f.from);
    if (f.to) q = q.where('d.created_at', '<', f.to);
    const [rows, count] = await Promise.all([
      q.select(DELIVERY_COLUMNS).orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(limit).offset(offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
    ]);
    return { total: Number(count?.n ?? 0), rows: rows as DeliveryRow[] };
  }

  async findDelivery(clientId: string, id: string): Promise<DeliveryDetailRow | undefined> {
    return (await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .leftJoin('events as ev', 'ev.id', 'd.event_id')
      .select(DELIVERY_COLUMNS)
      .select(['ev.payload', 'ev.created_at as event_created_at'])
      .where('d.client_id', '=', clientId)
      .where('d.id', '=', id)
      .executeTakeFirst()) as DeliveryDetailRow | undefined;
  }

  /**
   * Bulk replay (POST /webhooks/logs/retry/): makes up to `limit` of the client's deliveries in `status`
   * that match the filter pending and due now with a fresh retry budget, like requeue(), oldest first, in
   * one UPDATE whose LIMIT sits in a subquery (index webhook_deliveries_client_idx: client, created_at).
   * Left alone, and counted: deliveries whose endpoint is inactive or whose event left the outbox (their
   * attempt could only fail at once), and deliveries matching the filter that an attempt holds right now
   * (pending with a live claim: never sent twice at once). `remaining`: what a further call would take.
   * The counts are read in the same transaction, before the update.
   */
  async requeueMatching(
    clientId: string,
    status: 'failed' | 'delivered',
    f: Omit<DeliveryFilter, 'status'>,
    limit: number,
  ): Promise<{ retried: number; remaining: number; skippedInProgress: number; skippedEndpointInactive: number; skippedEventGone: number }> {
    return this.db.transaction().execute(async (trx) => {
      const filtered = () => {
        let q = trx.selectFrom('webhook_deliveries as d').innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id').where('d.client_id', '=', clientId);
        if (f.eventType) q = q.where('d.event_type', '=', f.eventType);
        if (f.endpointId) q = q.where('d.endpoint_id', '=', f.endpointId);
        if (f.from) q = q.where('d.created_at', '>=', f.from);
        if (f.to) q = q.where('d.created_at', '<', f.to);
        return q;
      };
      const live = sql<boolean>`d.status = 'pending' and d.claim_id is not null and d.next_attempt_at > now()`;
      // A lookup of each delivery's event by primary key, written as a scalar subquery rather than EXISTS: the
      // planner turns an EXISTS into a join, and for a tenant's thousands of deliveries it chose a hash join
      // reading the whole outbox (every tenant's events) on each replay call. A scalar subquery stays a per-row
      // index probe of events_pkey, so the cost follows the tenant's deliveries, not the outbox.
      const eventExists = sql<boolean>`(select true from events ev where ev.id = d.event_id) is not null`;
      const counts = await filtered()
        .select([
          sql<number>`count(*) filter (where d.status = ${status} and e.is_active and ${eventExists})`.as('eligible'),
          sql<number>`count(*) filter (where d.status = ${status} and not e.is_active)`.as('endpoint_inactive'),
          sql<number>`count(*) filter (where d.status = ${status} and e.is_active and not ${eventExists})`.as('event_gone'),
          sql<number>`count(*) filter (where ${live})`.as('in_progress'),
        ])
        .where((eb) => eb.or([eb('d.status', '=', status), eb.and([eb('d.status', '=', 'pending'), eb('d.claim_id', 'is not', null)])]))
        .executeTakeFirstOrThrow();
      const picked = filtered()
        .select('d.id')
        .where('d.status', '=', status)
        .where('e.is_active', '=', true)
        .where(eventExists)
        .orderBy('d.created_at', 'asc')
        .orderBy('d.id', 'asc')
        .limit(limit)
        // A concurrent replay of the same tenant takes other rows instead of waiting for these and finding them changed.
        .forUpdate('d')
        .skipLocked();
      // A MATERIALIZED CTE, not `id IN (subquery)`: the planner may re-scan an IN subquery once per outer
      // row, and each re-scan skips the rows this UPDATE already changed and locks the next ones, so the
      // LIMIT did not hold (the test saw 5 rows re-queued under a limit of 2). The CTE runs once.
      const updated = await trx
        .with((wb) => wb('picked').materialized(), () => picked)
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', attempts: 0, claim_id: null, next_attempt_at: sql<Date>`now()`, delivered_at: null })
        .where('id', 'in', (eb) => eb.selectFrom('picked').select('picked.id'))
        .where('client_id', '=', clientId)
        .where('status', '=', status)
        .returning('id')
        .execute();
      const eligible = Number(counts.eligible);
      return {
        retried: updated.length,
        remaining: Math.max(0, eligible - updated.length),
        skippedInProgress: Number(counts.in_progress),
        skippedEndpointInactive: Number(counts.endpoint_inactive),
        skippedEventGone: Number(counts.event_gone),
      };
    });
  }

  /**
   * Makes a delivery pending and due now with a fresh retry budget (attempts restart at 0), unless an
   * attempt holds it (a live claim: its lease has not run out): 'in_flight', nothing changed. A claim whose
   * lease ran out (its process died) does not hold it.
   */
  async requeue(clientId: string, id: string): Promise<'requeued' | 'in_flight' | 'not_found'> {
    const res = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', attempts: 0, claim_id: null, next_attempt_at: sql<Date>`now()`, delivered_at: null })
      .where('client_id', '=', clientId)
      .where('id', '=', id)
      .where((eb) => eb.or([eb('claim_id', 'is', null), eb('next_attempt_at', '<=', sql<Date>`now()`)]))
      .returning('id')
      .executeTakeFirst();
    if (res) return 'requeued';
    const exists = await this.db.selectFrom('webhook_deliveries').select('id').where('client_id', '=', clientId).where('id', '=', id).executeTakeFirst();
    return exists ? 'in_flight' : 'not_found';
  }
}
