import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { appError } from '../errors.ts';
import { backupFileName } from '../db/backup.ts';
import { errors } from './common.schemas.ts';
import { fingerprint, keyCheckValue } from '../crypto/key-check.ts';

/**
 * GET /api/admin/backup/: a consistent backup of the embedded database while the server runs (operator
 * token; `wajah backup` calls it). PostgreSQL deployments use pg_dump (docs/operations.md). The master
 * key is never in a backup: keep it apart (its fingerprint is in X-Wajah-Master-Key-Fingerprint).
 */
export async function backupRoutes(app: FastifyInstance): Promise<void> {
  const { database, foundation } = app.container;
  app.get(
    '/admin/backup/',
    {
      onRequest: app.authenticateAdmin,
      schema: {
        tags: ['admin'],
        security: [{ AdminToken: [] }],
        summary: 'Backup of the embedded database (gzipped tar); PostgreSQL: use pg_dump',
        produces: ['application/gzip'],
        response: { 200: Type.String({ format: 'binary' }), ...errors(401, 403, 409) },
      },
    },
    async (request, reply) => {
      if (!database.dumpEmbedded) throw appError('BACKUP_UNAVAILABLE', 'This server stores its data in PostgreSQL (DATABASE_URL): back it up with pg_dump (docs/operations.md)');
      const started = performance.now();
      const archive = Buffer.from(await (await database.dumpEmbedded()).arrayBuffer());
      const keyFingerprint = fingerprint(keyCheckValue(app.container.masterKey()));
      request.log.info({ bytes: archive.length, ms: Math.round(performance.now() - started) }, 'backup of the embedded database');
      void foundation.audit.record({ clientId: null, category: 'data_access', action: 'backup.created', actor: 'operator', ip: request.ip, details: { bytes: archive.length } });
      return reply
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="${backupFileName()}"`)
        .header('x-wajah-master-key-fingerprint', keyFingerprint)
        .send(archive);
    },
  );
}
