/**
 * `npm test` (scripts/test.mjs): writes a freshly migrated in-memory embedded database, as a gzipped dump, to the
 * file given, so that each test's in-memory database loads it instead of running every migration again
 * (WAJAH_TEST_PGLITE_TEMPLATE, src/db/database.ts). Written to a temporary name, then renamed.
 *
 *   node scripts/pglite-template.ts <file>
 */
import fs from 'node:fs';
import { openDatabase } from '../src/db/database.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/pglite-template.ts <file>');
delete process.env.WAJAH_TEST_PGLITE_TEMPLATE;
const database = await openDatabase({ databaseUrl: null, pgliteDir: 'memory://' });
try {
  const dump = Buffer.from(await (await database.dumpEmbedded!()).arrayBuffer());
  fs.writeFileSync(`${out}.tmp`, dump);
  fs.renameSync(`${out}.tmp`, out);
} finally {
  await database.close();
}
