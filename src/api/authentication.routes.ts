import type { FastifyInstance } from 'fastify';

export async function authenticationRoutes(_app: FastifyInstance): Promise<void> {}
