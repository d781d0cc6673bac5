import type { FastifyInstance } from 'fastify';

export async function webhooksRoutes(_app: FastifyInstance): Promise<void> {}
