// A lost or wrong master key is caught at start (issue 9): the check value stored with the data refuses
// another key, naming both fingerprints; no key is generated beside sealed data; the right key starts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { backendNames, createBackend, type Backend } from '../helpers/backends.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer } from '../../src/container.ts';
import { keyCheckValue, fingerprint } from '../../src/crypto/key-check.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

for (const name of backendNames()) {
  describe(`master key check [${name}]`, () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-key-'));
    let backend: Backend;
    after(async () => {
      await backend?.cleanup();
      // PGlite finishes flushing its files a moment after close() resolves.
      await new Promise((r) => setTimeout(r, 1000));
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const start = (key: string | null) => {
      const env = { ...process.env, WAJAH_DATA_DIR: dataDir, DATABASE_URL: backend.databaseUrl ?? '', REDIS_URL: '', WAJAH_WORKERS: '0', WAJAH_MASTER_KEY: key ?? '' };
      return createContainer(loadConfig(env), { log: quiet, engine: false });
    };
    const keyFile = path.join(dataDir, 'master.key');

    test('first start: a generated key; its check value is stored with the data', async () => {
      backend = await createBackend(name);
      const c = await start(null);
      // The OpenID provider's signing keys are sealed under the master key at the first start.
      const n = await c.database.db.selectFrom('sso_keys' as never).select('id' as never).execute();
      assert.ok(n.length > 0);
      await c.close();
      assert.ok(fs.existsSync(keyFile));
    });

    test('master.key deleted: refused, and no new key is written beside the sealed data', async () => {
      const original = fs.readFileSync(keyFile);
      fs.rmSync(keyFile);
      await assert.rejects(start(null), (e: { code?: string; message: string }) => {
        assert.equal(e.code, 'MASTER_KEY_MISMATCH');
        assert.match(e.message, new RegExp(fingerprint(keyCheckValue(Buffer.from(original.toString('utf8').trim(), 'hex')))));
        return true;
      });
      assert.ok(!fs.existsSync(keyFile), 'no key generated');
      fs.writeFileSync(keyFile, original, { mode: 0o600 });
    });

    test('a different WAJAH_MASTER_KEY: refused, naming both fingerprints; the right one starts', async () => {
      const original = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
      const wrong = crypto.randomBytes(32);
      await assert.rejects(start(wrong.toString('hex')), (e: { code?: string; message: string }) => {
        assert.equal(e.code, 'MASTER_KEY_MISMATCH');
        assert.ok(e.message.includes(fingerprint(keyCheckValue(wrong))) && e.message.includes(fingerprint(keyCheckValue(original))), e.message);
        return true;
      });
      const c = await start(original.toString('hex'));
      await c.close();
    });
  });
}
