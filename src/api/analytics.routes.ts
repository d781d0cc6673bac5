import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errors } from './common.schemas.ts';
import { AuditLogPage, AuditLogQuery, Dashboard, ModelPerformance, PeriodQuery, Statistics, SystemMetrics, UserBehavior } from './analytics.schemas.ts';
import { requestTimingPlugin } from './request-timing.plugin.ts';

const AUTH_ERRORS = [401, 403, 429] as const;

/** Analytics and monitoring of the calling client (M1–M6); docs/analytics.md describes every figure. */
export async function analyticsRoutes(fastify: FastifyInstance): Promise<void> {
  // Normally app.ts registers the timing hook for the whole /api scope; if it did not, measure at
  // least the routes registered from here on rather than report nothing.
  if (!fastify.hasPlugin('wajah-request-timing')) await fastify.register(requestTimingPlugin);

  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { analytics, systemMetrics } = app.container.analytics;
  const base = { preHandler: app.authenticateClient } as const;
  const tags = ['analytics'];

  app.get(
    '/analytics/dashboard/',
    {
      ...base,
      schema: { tags, summary: 'Headline usage metrics with trends against the previous period', querystring: PeriodQuery, response: { 200: Dashboard, ...errors(400, ...AUTH_ERRORS) } },
    },
    async (request) => analytics.dashboard(request.client!.id, request.query),
  );

  app.get(
    '/analytics/statistics/',
    {
      ...base,
      schema: { tags, summary: 'Time series: hourly up to 24 h, daily otherwise', querystring: PeriodQuery, response: { 200: Statistics, ...errors(400, ...AUTH_ERRORS) } },
    },
    async (request) => analytics.statistics(request.client!.id, request.query),
  );

  app.get(
    '/analytics/user-behavior/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Patterns by hour and weekday, most active users, devices, failure reasons',
        querystring: PeriodQuery,
        response: { 200: UserBehavior, ...errors(400, ...AUTH_ERRORS) },
      },
    },
    async (request) => analytics.userBehavior(request.client!.id, request.query),
  );

  app.get(
    '/analytics/system-metrics/',
    { ...base, schema: { tags, summary: 'Live host, engine, database and request metrics', response: { 200: SystemMetrics, ...errors(...AUTH_ERRORS) } } },
    async (request) => systemMetrics.read(request.client!.id),
  );

  app.get(
    '/analytics/model-performance/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Accuracy proxies, confidence and quality distributions, liveness performance',
        querystring: PeriodQuery,
        response: { 200: ModelPerformance, ...errors(400, ...AUTH_ERRORS) },
      },
    },
    async (request) => analytics.modelPerformance(request.client!.id, request.query),
  );

  app.get(
    '/analytics/audit-logs/',
    {
      ...base,
      schema: {
        tags,
        summary: 'Audit trail: enrollment, authentication, configuration, security, API access, face-data access',
        querystring: AuditLogQuery,
        response: { 200: AuditLogPage, ...errors(400, ...AUTH_ERRORS) },
      },
    },
    async (request) => analytics.auditLogs(request.client!.id, request.query),
  );
}
