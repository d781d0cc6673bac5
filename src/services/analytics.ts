import type { Core } from '../container.ts';

/** Analytics, system metrics and audit-log queries. */
export interface AnalyticsServices {
  close(): Promise<void>;
}

export async function createAnalyticsServices(_core: Core): Promise<AnalyticsServices> {
  return { close: async () => {} };
}
