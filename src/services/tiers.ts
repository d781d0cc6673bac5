import type { Tier } from '../db/schema.ts';

/**
 * Limits per tier (guide FAQ). null = unlimited. A client's max_users / calls_per_hour override these.
 * Session frames do not count as calls: they draw from a per-session frame rate (the guide's camera loop
 * sends 10 frames/s), and starting a session draws from the sessions-per-hour budget (docs/foundation.md).
 * `concurrentStreams`: WebSocket recognition streams open at once (docs/realtime.md): frames do not count
 * as calls, so without it one key could hold any number of streams and the shared inference queue with them.
 */
export const TIER_LIMITS: Record<Tier, { maxUsers: number | null; callsPerHour: number | null; framesPerSecond: number; sessionsPerHour: number | null; concurrentStreams: number | null }> = {
  basic: { maxUsers: 1_000, callsPerHour: 1_000, framesPerSecond: 10, sessionsPerHour: 300, concurrentStreams: 2 },
  premium: { maxUsers: 10_000, callsPerHour: 5_000, framesPerSecond: 20, sessionsPerHour: 2_000, concurrentStreams: 10 },
  enterprise: { maxUsers: null, callsPerHour: null, framesPerSecond: 30, sessionsPerHour: null, concurrentStreams: null },
};

export const TIERS = ['basic', 'premium', 'enterprise'] as const satisfies readonly Tier[];

export interface EffectiveLimits {
  maxUsers: number | null;
  callsPerHour: number | null;
  /** Frames per second of one enrollment/authentication session. */
  framesPerSecond: number;
  /** Enrollment, authentication and streaming sessions started per hour. */
  sessionsPerHour: number | null;
}

/** @example limitsFor({ tier: 'enterprise', max_users: null, calls_per_hour: 5 }) // { maxUsers: null, callsPerHour: 5, … } */
export function limitsFor(client: { tier: Tier; max_users: number | null; calls_per_hour: number | null }): EffectiveLimits {
  const d = TIER_LIMITS[client.tier];
  return { maxUsers: client.max_users ?? d.maxUsers, callsPerHour: client.calls_per_hour ?? d.callsPerHour, framesPerSecond: d.framesPerSecond, sessionsPerHour: d.sessionsPerHour };
}
