/**
 * Process-wide wake-up for webhook dispatchers. The face layer records events inside its own
 * transactions; after the commit it may call `notifyWebhookDispatchers()` so delivery starts at once
 * instead of at the next poll (≤ WAJAH_WEBHOOK_POLL_MS). Without the call nothing is lost: polling
 * picks the event up.
 *
 * @example await db.transaction().execute((trx) => recordEvent(trx, clientId, 'enrollment.completed', data)); notifyWebhookDispatchers();
 */
const listeners = new Set<() => void>();

export function notifyWebhookDispatchers(): void {
  for (const l of listeners) l();
}

/** Returns the unsubscribe function. */
export function onWebhookWake(listener: () => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}
