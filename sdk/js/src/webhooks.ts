import { seg, type CallOptions, type HttpTransport } from './http.ts';
import type { ListWebhookLogsQuery, Page, PageQuery, ReplayWebhookLogsInput, WebhookEndpoint, WebhookEndpointInput, WebhookLog, WebhookLogDetail, WebhookReplay } from './types.ts';

/** `/api/webhooks/endpoints/…`. */
export class WebhookEndpointsApi {
  private readonly http: HttpTransport;
  constructor(http: HttpTransport) {
    this.http = http;
  }

  /** The answer carries `secret` once, when the server generated it. */
  create(input: WebhookEndpointInput, call?: CallOptions): Promise<WebhookEndpoint> {
    return this.http.request('POST', '/webhooks/endpoints/', { json: input, call });
  }

  list(query: PageQuery = {}, call?: CallOptions): Promise<Page<WebhookEndpoint>> {
    return this.http.request('GET', '/webhooks/endpoints/', { query: { ...query }, call });
  }

  get(id: string, call?: CallOptions): Promise<WebhookEndpoint> {
    return this.http.request('GET', `/webhooks/endpoints/${seg(id)}/`, { call });
  }

  /** PUT: an omitted secret is kept, omitted is_active/retry_policy go back to their defaults. */
  replace(id: string, input: WebhookEndpointInput, call?: CallOptions): Promise<WebhookEndpoint> {
    return this.http.request('PUT', `/webhooks/endpoints/${seg(id)}/`, { json: input, call });
  }

  /** PATCH: only the fields given change; send `secret` to rotate it. */
  update(id: string, input: Partial<WebhookEndpointInput>, call?: CallOptions): Promise<WebhookEndpoint> {
    return this.http.request('PATCH', `/webhooks/endpoints/${seg(id)}/`, { json: input, call });
  }

  /** Deletes the endpoint and its delivery logs. */
  async delete(id: string, call?: CallOptions): Promise<void> {
    await this.http.request<void>('DELETE', `/webhooks/endpoints/${seg(id)}/`, { call });
  }

  /** Sends a signed `webhook.test` ping now; answers the delivery after its first attempt. */
  test(id: string, call?: CallOptions): Promise<WebhookLogDetail> {
    return this.http.request('POST', `/webhooks/endpoints/${seg(id)}/test/`, { call });
  }
}

/** `/api/webhooks/logs/…`: deliveries, newest first. */
export class WebhookLogsApi {
  private readonly http: HttpTransport;
  constructor(http: HttpTransport) {
    this.http = http;
  }

  list(query: ListWebhookLogsQuery = {}, call?: CallOptions): Promise<Page<WebhookLog>> {
    return this.http.request('GET', '/webhooks/logs/', { query: { ...query }, call });
  }

  get(logId: string, call?: CallOptions): Promise<WebhookLogDetail> {
    return this.http.request('GET', `/webhooks/logs/${seg(logId)}/`, { call });
  }

  /** Re-queues a delivery for an immediate attempt with a fresh retry budget (HTTP 202). */
  retry(logId: string, call?: CallOptions): Promise<WebhookLogDetail> {
    return this.http.request('POST', `/webhooks/logs/${seg(logId)}/retry/`, { call });
  }

  /**
   * Re-queues every matching delivery (default: the failed ones) like retry(), up to 10000 a call (HTTP 202).
   * Call again while `remaining` > 0. Deliveries being attempted, of an inactive endpoint or whose event
   * left the outbox are skipped and counted.
   * @example let r; do r = await client.webhooks.logs.retryAll({ endpoint_id }); while (r.remaining > 0);
   */
  retryAll(filters: ReplayWebhookLogsInput = {}, call?: CallOptions): Promise<WebhookReplay> {
    return this.http.request('POST', '/webhooks/logs/retry/', { json: filters, call });
  }
}

/**
 * @example
 * const ep = await client.webhooks.endpoints.create({ url: 'https://app.example/hooks', events: ['authentication.success'] });
 * const failed = await client.webhooks.logs.list({ status: 'failed' });
 */
export class WebhooksApi {
  readonly endpoints: WebhookEndpointsApi;
  readonly logs: WebhookLogsApi;
  constructor(http: HttpTransport) {
    this.endpoints = new WebhookEndpointsApi(http);
    this.logs = new WebhookLogsApi(http);
  }
}
