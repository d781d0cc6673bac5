import crypto from 'node:crypto';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, EventTable } from '../db/schema.ts';
import type { WrittenEventPayloads } from '../api/webhook-events.schemas.ts';
import { currentRequestId } from '../observability/request-scope.ts';

/**
 * Domain events, keyed by name, with the payload fields of the user guide (webhook section): the static
 * type of their schemas (src/api/webhook-events.schemas.ts, also in the OpenAPI document and the SDK).
 * Written to the `events` outbox in the same transaction as their cause; webhook delivery reads it.
 */
export type EventPayloads = WrittenEventPayloads;

export type EventName = keyof EventPayloads;
export const EVENT_NAMES = [
  'enrollment.completed',
  'enrollment.failed',
  'authentication.success',
  'authentication.failed',
  'liveness.failed',
  'user.created',
  'user.updated',
] as const satisfies readonly EventName[];

/** Appends one event to the outbox. Pass the transaction of the change that caused it. */
export async function recordEvent<E extends EventName>(
  db: Kysely<Database> | Transaction<Database>,
  clientId: string,
  event: E,
  data: EventPayloads[E],
): Promise<string> {
  const row = eventRow(clientId, event, data);
  await db.insertInto('events').values(row).execute();
  return row.id;
}

/** The outbox row of one event (recordEvent writes it; a repository may write it within a larger statement). */
export function eventRow<E extends EventName>(clientId: string, event: E, data: EventPayloads[E]) {
  return { id: crypto.randomUUID(), client_id: clientId, event_type: event, payload: JSON.stringify(data), request_id: currentRequestId() } satisfies Insertable<EventTable>;
}
