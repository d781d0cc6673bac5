import crypto from 'node:crypto';
import type { ClaimedDelivery, EndpointChanges, EndpointRow, WebhooksRepository } from '../../db/repositories/webhooks.repository.ts';
import type { WebhookEventPayloads } from '../../api/webhook-events.schemas.ts';
import type { DeliveryDetailRow, DeliveryRow, WebhookLogsRepository } from '../../db/repositories/webhook-logs.repository.ts';
import type { WebhookDeliveryStatus } from '../../db/schema.ts';
import { appError } from '../../errors.ts';
import { isUuid, pageOf, type Page } from '../paging.ts';
import type { WebhookDispatcher } from './dispatcher.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.ts';
import { secretAad, type SecretBox } from './secret-box.ts';
import { generateSecret } from './signer.ts';
import { checkWebhookUrl } from './url-guard.ts';
import { dayAfter, instantAfter, parseQueryDate } from '../analytics/periods.ts';
import type { AuditService } from '../audit.service.ts';

/** Endpoints per client. */
export const MAX_ENDPOINTS = 50;

/** Deliveries one bulk replay call re-queues at most (the rest: `remaining`, call again). */
export const MAX_REPLAY = 10_000;

/** An endpoint as the API returns it. The secret never comes back (except once, when generated). */
export interface EndpointView {
  id: string;
  url: string;
  events: string[];
  is_active: boolean;
  retry_policy: RetryPolicy;
  secret_set: true;
  created_at: string;
  updated_at: string;
  /** Only in the creation response, and only when the server generated the secret. */
  secret?: string;
}

export interface EndpointInput {
  url: string;
  events: string[];
  secret?: string;
  is_active?: boolean;
  retry_policy?: Partial<RetryPolicy>;
}

export type EndpointPatch = Partial<EndpointInput>;

export interface DeliveryView {
  id: string;
  endpoint_id: string;
  url: string;
  event_id: string;
  event_type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  response_ms: number | null;
  created_at: string;
  delivered_at: string | null;
}

export interface DeliveryDetailView extends DeliveryView {
  /** The JSON body sent to the receiver (null when the event was removed from the outbox). */
  body: { event: string; data: unknown; timestamp: string; webhook_id: string } | null;
}

export interface DeliveryQuery {
  page: number;
  page_size: number;
  event_type?: string;
  status?: WebhookDeliveryStatus;
  endpoint_id?: string;
  start_date?: string;
  end_date?: string;
}

/** Filters of a bulk replay (POST /webhooks/logs/retry/); all optional. */
export interface ReplayInput {
  endpoint_id?: string;
  event_type?: string;
  start_date?: string;
  end_date?: string;
  /** Which deliveries: `failed` (default) or `delivered` (a receiver that lost what it had acknowledged). */
  status?: 'failed' | 'delivered';
  /** At most this many this call (default and maximum MAX_REPLAY). */
  limit?: number;
}

export interface ReplayView {
  /** Deliveries put back to pending, due now, with a fresh retry budget. */
  retried: number;
  /** Matching deliveries left for another call (over the limit). */
  remaining: number;
  /** Matching deliveries an attempt holds right now: not touched (never sent twice at once). */
  skipped_in_progress: number;
  /** Matching deliveries of an inactive endpoint: not touched (reactivate it, then replay). */
  skipped_endpoint_inactive: number;
  /** Matching deliveries whose event left the outbox (retention): not touched, nothing to send. */
  skipped_event_gone: number;
  limit: number;
  /** The filters applied, dates as the instants used (end exclusive). */
  filters: { status: 'failed' | 'delivered'; endpoint_id: string | null; event_type: string | null; created_from: string | null; created_before: string | null };
}

/** Who asked (audit trail). */
export interface WebhookActor {
  apiKeyId?: string | null;
  ip?: string | null;
}

/**
 * Webhook endpoints and delivery logs of a tenant (W1, W4). Every method takes the client id and
 * every query is scoped by it: another tenant's ids answer NOT_FOUND like missing ones.
 *
 * @example const ep = await webhooks.create(clientId, { url: 'https://example.com/hook', events: ['user.created'] })
 */
export class WebhooksService {
  private readonly repo: WebhooksRepository;
  private readonly logs: WebhookLogsRepository;
  private readonly dispatcher: WebhookDispatcher;
  private readonly box: SecretBox;
  private readonly options: { allowPrivate: boolean; dispatch: boolean };
  private readonly audit: Pick<AuditService, 'record'> | null;
  constructor(
    repo: WebhooksRepository,
    logs: WebhookLogsRepository,
    dispatcher: WebhookDispatcher,
    box: SecretBox,
    options: { allowPrivate: boolean; dispatch: boolean },
    audit: Pick<AuditService, 'record'> | null = null,
  ) {
    this.repo = repo; this.logs = logs; this.dispatcher = dispatcher; this.box = box; this.options = options; this.audit = audit;
  }

  async create(clientId: string, input: EndpointInput): Promise<EndpointView> {
    const url = await checkWebhookUrl(input.url, this.options.allowPrivate);
    const generated = input.secret === undefined ? generateSecret() : null;
    const id = crypto.randomUUID();
    const row = await this.repo.insertEndpointWithin(MAX_ENDPOINTS, {
      id,
      client_id: clientId,
      url,
      events: unique(input.events),
      secret: this.box.seal(input.secret ?? generated!, secretAad(clientId, id)),
      is_active: input.is_active ?? true,
      ...DEFAULT_RETRY_POLICY,
      ...input.retry_policy,
    });
    if (!row) throw appError('WEBHOOK_LIMIT_EXCEEDED', undefined, { max_endpoints: MAX_ENDPOINTS });
    const view = endpointView(row);
    return generated ? { ...view, secret: generated } : view;
  }

  async list(clientId: string, q: { page: number; page_size: number }): Promise<Page<EndpointView>> {
    const { total, rows } = await this.repo.listEndpoints(clientId, q.page_size, (q.page - 1) * q.page_size);
    return pageOf(rows.map(endpointView), total, q.page, q.page_size);
  }

  async get(clientId: string, id: string): Promise<EndpointView> {
    return endpointView(await this.#endpoint(clientId, id));
  }

  /** PUT: the full endpoint (url and events required); an omitted secret is kept, omitted options reset to defaults. */
  async replace(clientId: string, id: string, input: EndpointInput): Promise<EndpointView> {
    const current = await this.#endpoint(clientId, id);
    return this.#update(clientId, id, {
      url: await checkWebhookUrl(input.url, this.options.allowPrivate),
      events: unique(input.events),
      is_active: input.is_active ?? true,
      ...(input.secret !== undefined ? { secret: this.box.seal(input.secret, secretAad(clientId, current.id)) } : {}),
      ...DEFAULT_RETRY_POLICY,
      ...input.retry_policy,
    });
  }

  /** PATCH: only the fields given change; retry_policy fields merge into the current policy. */
  async patch(clientId: string, id: string, input: EndpointPatch): Promise<EndpointView> {
    const current = await this.#endpoint(clientId, id);
    const changes: EndpointChanges = {};
    if (input.url !== undefined) changes.url = await checkWebhookUrl(input.url, this.options.allowPrivate);
    if (input.events !== undefined) changes.events = unique(input.events);
    if (input.secret !== undefined) changes.secret = this.box.seal(input.secret, secretAad(clientId, current.id));
    if (input.is_active !== undefined) changes.is_active = input.is_active;
    if (input.retry_policy) Object.assign(changes, { ...policyOf(current), ...input.retry_policy });
    return this.#update(clientId, id, changes);
  }

  async delete(clientId: string, id: string): Promise<void> {
    if (!isUuid(id) || !(await this.repo.deleteEndpoint(clientId, id.toLowerCase()))) throw appError('WEBHOOK_NOT_FOUND');
  }

  /**
   * Sends a `webhook.test` ping through the normal delivery path (outbox row, delivery row, signing,
   * retries) and returns the delivery after its first attempt. Goes to this endpoint only, subscribed
   * or not; an inactive endpoint's ping fails at once ("endpoint is inactive").
   */
  async test(clientId: string, id: string): Promise<DeliveryDetailView> {
    const endpoint = await this.#endpoint(clientId, id);
    // A ping takes a slot of the client's fair share like any delivery (dispatcher.reservePing).
    const slot = this.options.dispatch ? this.dispatcher.reservePing(clientId, endpoint.id) : null;
    if (this.options.dispatch && !slot) {
      throw appError('WEBHOOK_TEST_BUSY', 'A test ping of this endpoint, or the client\'s share of deliveries, is still in flight; retry when it finishes', undefined, { 'retry-after': '1' });
    }
    let claimed: ClaimedDelivery;
    try {
      claimed = await this.repo.insertClaimedPing(
        clientId,
        endpoint.id,
        { message: 'Test ping from Wajah: your endpoint is reachable and the signature can be verified.', endpoint_id: endpoint.id } satisfies WebhookEventPayloads['webhook.test'],
        this.dispatcher.leaseMs,
      );
    } catch (e) {
      slot?.release();
      throw e;
    }
    // With WAJAH_WEBHOOKS=0 this process does not send: the ping waits for a dispatching instance.
    if (slot) await this.dispatcher.deliverClaimed(claimed, slot);
    else await this.repo.releaseClaim(claimed.id, claimed.claim_id);
    return this.getDelivery(clientId, claimed.id);
  }

  async listDeliveries(clientId: string, q: DeliveryQuery): Promise<Page<DeliveryView>> {
    const from = q.start_date ? parseQueryDate(q.start_date, 'start_date').at : undefined;
    const last = q.end_date ? parseQueryDate(q.end_date, 'end_date') : undefined;
    // `2024-01-31` as end_date means through the end of that day (UTC); full timestamps are exact.
    const to = last ? (last.dateOnly ? dayAfter(last.at) : instantAfter(last.at)) : undefined;
    if (q.endpoint_id !== undefined && !isUuid(q.endpoint_id)) return pageOf([], 0, q.page, q.page_size);
    const { total, rows } = await this.logs.listDeliveries(
      clientId,
      { eventType: q.event_type, status: q.status, endpointId: q.endpoint_id?.toLowerCase(), from, to },
      q.page_size,
      (q.page - 1) * q.page_size,
    );
    return pageOf(rows.map(deliveryView), total, q.page, q.page_size);
  }

  async getDelivery(clientId: string, id: string): Promise<DeliveryDetailView> {
    const row = isUuid(id) ? await this.logs.findDelivery(clientId, id.toLowerCase()) : undefined;
    if (!row) throw appError('WEBHOOK_LOG_NOT_FOUND');
    return deliveryDetailView(row);
  }

  /**
   * Re-queues any delivery (failed, delivered or pending) for an immediate attempt with a fresh retry budget;
   * not while an attempt is under way (a second send of the same X-Webhook-Id at the same moment would
   * defeat the receiver's de-duplication): WEBHOOK_DELIVERY_IN_PROGRESS.
   */
  async retryDelivery(clientId: string, id: string): Promise<DeliveryDetailView> {
    const outcome = isUuid(id) ? await this.logs.requeue(clientId, id.toLowerCase()) : 'not_found';
    if (outcome === 'not_found') throw appError('WEBHOOK_LOG_NOT_FOUND');
    if (outcome === 'in_flight') throw appError('WEBHOOK_DELIVERY_IN_PROGRESS', undefined, undefined, { 'retry-after': '1' });
    this.dispatcher.notify();
    return this.getDelivery(clientId, id);
  }

  /**
   * Bulk replay: re-queues every matching delivery of the client (same semantics as retryDelivery, up to
   * `limit` a call, oldest first) in one set-based update, wakes the dispatcher once and writes one audit
   * entry. Skipped and counted: deliveries an attempt holds, of an inactive endpoint, or whose event left
   * the outbox. The replayed deliveries wait their turn in the dispatcher's fair shares like any other.
   */
  async replayDeliveries(clientId: string, input: ReplayInput, by: WebhookActor = {}): Promise<ReplayView> {
    const status = input.status ?? 'failed';
    const limit = Math.min(input.limit ?? MAX_REPLAY, MAX_REPLAY);
    const from = input.start_date ? parseQueryDate(input.start_date, 'start_date').at : undefined;
    const last = input.end_date ? parseQueryDate(input.end_date, 'end_date') : undefined;
    const to = last ? (last.dateOnly ? dayAfter(last.at) : instantAfter(last.at)) : undefined;
    // An endpoint of another tenant, or none: say so rather than answer "0 retried" to a typo.
    const endpointId = input.endpoint_id !== undefined ? (await this.#endpoint(clientId, input.endpoint_id)).id : undefined;
    const out = await this.logs.requeueMatching(clientId, status, { eventType: input.event_type, endpointId, from, to }, limit);
    if (out.retried > 0) this.dispatcher.notify();
    const view: ReplayView = {
      retried: out.retried,
      remaining: out.remaining,
      skipped_in_progress: out.skippedInProgress,
      skipped_endpoint_inactive: out.skippedEndpointInactive,
      skipped_event_gone: out.skippedEventGone,
      limit,
      filters: {
        status,
        endpoint_id: endpointId ?? null,
        event_type: input.event_type ?? null,
        created_from: from ? from.toISOString() : null,
        created_before: to ? to.toISOString() : null,
      },
    };
    void this.audit?.record({
      clientId,
      // An operator action on delivery state, like the other webhook and fallback settings; not 'data_access',
      // which the audit feed shows as face data access.
      category: 'configuration',
      action: 'webhook.deliveries_replayed',
      actor: by.apiKeyId ? `key:${by.apiKeyId}` : null,
      target: endpointId ?? null,
      ip: by.ip ?? null,
      details: { ...view.filters, limit, retried: view.retried, remaining: view.remaining, skipped_in_progress: view.skipped_in_progress, skipped_endpoint_inactive: view.skipped_endpoint_inactive, skipped_event_gone: view.skipped_event_gone },
    });
    return view;
  }

  async #endpoint(clientId: string, id: string): Promise<EndpointRow> {
    const row = isUuid(id) ? await this.repo.findEndpoint(clientId, id.toLowerCase()) : undefined;
    if (!row) throw appError('WEBHOOK_NOT_FOUND');
    return row;
  }

  async #update(clientId: string, id: string, changes: EndpointChanges): Promise<EndpointView> {
    // A new URL or a re-activation: the tenant fixed what failed, so a paused endpoint is not left waiting.
    const closeCircuit = changes.url !== undefined || changes.is_active === true;
    const row = await this.repo.updateEndpoint(clientId, id.toLowerCase(), changes, { closeCircuit });
    if (!row) throw appError('WEBHOOK_NOT_FOUND');
    return endpointView(row);
  }
}

function unique(events: string[]): string[] {
  return [...new Set(events)];
}

function policyOf(row: EndpointRow): RetryPolicy {
  return { max_retries: row.max_retries, backoff_strategy: row.backoff_strategy, retry_delay: row.retry_delay };
}

function iso(d: Date | string): string {
  return new Date(d).toISOString();
}

function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    is_active: row.is_active,
    retry_policy: policyOf(row),
    secret_set: true,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    url: row.url,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    response_ms: row.response_ms,
    created_at: iso(row.created_at),
    delivered_at: row.delivered_at ? iso(row.delivered_at) : null,
  };
}

function deliveryDetailView(row: DeliveryDetailRow): DeliveryDetailView {
  const body =
    row.payload && row.event_created_at
      ? { event: row.event_type, data: row.payload, timestamp: iso(row.event_created_at), webhook_id: row.endpoint_id }
      : null;
  return { ...deliveryView(row), body };
}
