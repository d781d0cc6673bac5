import type { Tier } from '../db/schema.ts';

/** Limits per tier (guide FAQ). null = unlimited. A client's max_users / calls_per_hour override these. */
export const TIER_LIMITS: Record<Tier, { maxUsers: number | null; callsPerHour: number | null }> = {
  basic: { maxUsers: 1_000, callsPerHour: 1_000 },
  premium: { maxUsers: 10_000, callsPerHour: 5_000 },
  enterprise: { maxUsers: null, callsPerHour: null },
};

export const TIERS = ['basic', 'premium', 'enterprise'] as const satisfies readonly Tier[];

export interface EffectiveLimits {
  maxUsers: number | null;
  callsPerHour: number | null;
}

/** @example limitsFor({ tier: 'enterprise', max_users: null, calls_per_hour: 5 }) // { maxUsers: null, callsPerHour: 5 } */
export function limitsFor(client: { tier: Tier; max_users: number | null; calls_per_hour: number | null }): EffectiveLimits {
  const d = TIER_LIMITS[client.tier];
  return { maxUsers: client.max_users ?? d.maxUsers, callsPerHour: client.calls_per_hour ?? d.callsPerHour };
}
