import type { Core } from '../../container.ts';
import type { AuditService } from '../audit.service.ts';
import { WebhookCircuitsRepository } from '../../db/repositories/webhook-circuits.repository.ts';
import { WebhookLogsRepository } from '../../db/repositories/webhook-logs.repository.ts';
import { WebhooksRepository } from '../../db/repositories/webhooks.repository.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { SecretBox } from './secret-box.ts';
import { sendWebhook } from './sender.ts';
import { onWebhookWake } from './wake.ts';
import { WebhooksService } from './webhooks.service.ts';

export { notifyWebhookDispatchers } from './wake.ts';

/**
 * Webhook endpoints, signing and durable delivery from the events outbox.
 *
 * @example container.webhooks.notify() // after committing an event: deliver now, not at the next poll
 */
export interface WebhookServices {
  webhooks: WebhooksService;
  dispatcher: WebhookDispatcher;
  /** Wake this process's dispatcher (notifyWebhookDispatchers() wakes every one in the process). */
  notify(): void;
  close(): Promise<void>;
}

/** Starts the dispatcher unless WAJAH_WEBHOOKS=0 (then this instance serves the API only). */
export async function createWebhookServices(core: Core, audit: Pick<AuditService, 'record'> | null = null): Promise<WebhookServices> {
  const { config } = core;
  const repo = new WebhooksRepository(core.database.db);
  // Endpoint secrets are sealed with a key derived from the template master key (secret-box.ts).
  const box = new SecretBox(core.masterKey(), core.previousMasterKeys);
  const dispatcher = new WebhookDispatcher(repo, new WebhookCircuitsRepository(core.database.db), sendWebhook, box, core.log, {
    pollMs: config.webhookPollMs,
    timeoutMs: config.webhookTimeoutMs,
    allowPrivate: config.webhookAllowPrivate,
    onOutcome: (outcome) => core.metrics.webhookDelivery(outcome),
    keyWatch: core.sealKeyWatch,
  });
  const webhooks = new WebhooksService(repo, new WebhookLogsRepository(core.database.db), dispatcher, box, { allowPrivate: config.webhookAllowPrivate, dispatch: config.webhooks }, audit);
  const unsubscribe = onWebhookWake(() => dispatcher.notify());
  if (config.webhooks) dispatcher.start();
  return {
    webhooks,
    dispatcher,
    notify: () => dispatcher.notify(),
    async close() {
      unsubscribe();
      await dispatcher.close();
    },
  };
}
