import crypto from 'node:crypto';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, EventTable } from '../db/schema.ts';
import { currentRequestId } from '../observability/request-scope.ts';

/**
 * Domain events, keyed by name, with the payload fields of the user guide (webhook section).
 * Written to the `events` outbox in the same transaction as their cause; webhook delivery reads it.
 */
export interface EventPayloads {
  'enrollment.completed': {
    /** null only for a manual review approved without a usable face (outcome 'manually_verified'). */
    enrollment_id: string | null;
    user_id: string;
    user_name: string;
    quality_score: number;
    angles_captured: number;
    enrollment_date: string;
    /** Present when the enrollment came from the manual-review queue (docs/fallbacks.md). */
    method?: 'manual_review';
    review_id?: string;
    outcome?: 'enrolled' | 'manually_verified';
  };
  'enrollment.failed': {
    /** null when a manual review was rejected (no session). */
    session_id: string | null;
    user_id: string;
    error_code: string;
    error_message: string;
    attempts: number;
    last_attempt: string;
    method?: 'manual_review';
    review_id?: string;
  };
  'authentication.success': {
    /** How the identity was proven when not by face alone: PIN/password fallback or SSO sign-in. */
    method?: 'pin' | 'password' | 'sso';
    session_id: string | null;
    user_id: string;
    user_name: string;
    confidence: number;
    liveness_score: number | null;
    authentication_time: string;
    /** Same instant as authentication_time: the guide's event handler reads `data.timestamp`. */
    timestamp: string;
    device_info: { ip_address: string | null; user_agent: string | null };
  };
  'authentication.failed': {
    method?: 'pin' | 'password' | 'sso';
    session_id: string | null;
    failure_reason: string;
    confidence: number | null;
    threshold: number | null;
    attempts: number;
    user_id?: string;
  };
  'liveness.failed': {
    session_id: string;
    user_id?: string;
    liveness_score: number;
    checks: { blink_detected: boolean; head_movement: number; static_detection: boolean; passive_score: number | null; spoof_detected: boolean };
    challenges_completed: string[];
    reason: string;
  };
  'user.created': { user_id: string; id: string; name: string; email: string | null; metadata: Record<string, unknown>; created_at: string };
  'user.updated': { user_id: string; id: string; name: string; email: string | null; metadata: Record<string, unknown>; is_active: boolean; updated_at: string; changes: string[] };
}

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
