import type { FastifyInstance } from 'fastify';

export async function authPlugin(_app: FastifyInstance): Promise<void> {}
