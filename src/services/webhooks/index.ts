import type { Core } from '../../container.ts';

/** Webhook endpoints, signing and durable delivery from the events outbox. */
export interface WebhookServices {
  close(): Promise<void>;
}

export async function createWebhookServices(_core: Core): Promise<WebhookServices> {
  return { close: async () => {} };
}
