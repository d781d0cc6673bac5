import type { FastifyInstance } from 'fastify';

export async function statusRoutes(_app: FastifyInstance): Promise<void> {}
