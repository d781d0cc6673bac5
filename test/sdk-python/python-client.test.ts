import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { testDataDir } from '../../src/config/env.ts';
import { serializeBody, signBody } from '../../src/services/webhooks/signer.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY } from '../helpers/face-fixtures.ts';
import { createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';

/**
 * The Python client (sdk/python, `face-recognition-api-client`) against a real server: this file starts
 * the app with the real face engine on an ephemeral port, creates tenants, and runs the Python suite
 * (`python3 -m unittest discover -s sdk/python/tests`) as a child process. The Python tests call the
 * server over real HTTP, capture real webhook deliveries with their own HTTP receiver, and check a
 * signature made by the server's own signer (passed here through the environment).
 *
 * Without python3 the suite is skipped with a notice, except under CI=true, where that is a failure.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const PY_ROOT = path.join(ROOT, 'sdk/python');
const PYTHON = process.env.PYTHON || 'python3';

function pythonVersion(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const v = r.stdout.trim();
  const [major, minor] = v.split('.').map(Number);
  return major === 3 && minor! >= 9 ? v : null;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const version = pythonVersion();

if (!version) {
  const why = `${PYTHON} (≥ 3.9) not found: the Python client tests (sdk/python) cannot run`;
  if (process.env.CI === 'true') {
    test('python client: python3 is required under CI', () => assert.fail(why));
  } else {
    console.warn(`! ${why}; skipped`);
    test('face-recognition-api-client (Python) against a real server', { skip: why }, () => {});
  }
} else {
  describe(`face-recognition-api-client (Python ${version}) against a real server`, () => {
    const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
    let origin = '';
    let tenant: TestClient;
    let limited: TestClient;

    before(async () => {
      const { app } = t();
      await app.listen({ port: 0, host: '127.0.0.1' });
      origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      tenant = await createClient(app, { name: 'Python client test', tier: 'enterprise' });
      limited = await createClient(app, { name: 'Python rate limited', tier: 'basic', calls_per_hour: 1 });
    });

    test('python3 -m unittest discover -s sdk/python/tests: every test runs and passes', async () => {
      // A body signed by the server's own code path (serializer + signer of the dispatcher), with non-ASCII
      // text, so the Python verifier is checked against the exact bytes and header the server produces.
      const secret = 'whsec_python_client_test_0123456789';
      const body = serializeBody({
        event: 'user.created',
        data: { user_id: 'EMP-ü', name: 'Zoë Ñandú 山田', email: null, metadata: { dept: 'R&D' }, created_at: '2024-01-01T12:00:00.000Z' },
        timestamp: '2024-01-01T12:00:00.000Z',
        webhook_id: '6f1c0000-0000-4000-8000-000000000000',
      });
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PYTHONPATH: PY_ROOT,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONIOENCODING: 'utf-8',
        PYTHONUNBUFFERED: '1',
        WAJAH_BASE_URL: `${origin}/api`,
        WAJAH_API_KEY: tenant.api_key,
        WAJAH_SECRET_KEY: tenant.secret_key,
        WAJAH_LIMITED_API_KEY: limited.api_key,
        WAJAH_LIMITED_SECRET_KEY: limited.secret_key,
        WAJAH_TEST_DATA: testDataDir(),
        WAJAH_SERVER_SIGNED_BODY: Buffer.from(body, 'utf8').toString('base64'),
        WAJAH_SERVER_SIGNATURE: signBody(body, secret),
        WAJAH_SERVER_SIGNING_SECRET: secret,
        // The Python suite fails (instead of skipping) when a server variable is missing.
        WAJAH_REQUIRE_SERVER: '1',
      };
      const { code, output } = await run(PYTHON, ['-B', '-m', 'unittest', 'discover', '-s', 'sdk/python/tests', '-v'], env, 540_000);
      const ran = /^Ran (\d+) tests? in /m.exec(output);
      const summary = output.trim().split('\n').at(-1) ?? '';
      const detail = `python exited ${code}:\n${output}`;
      assert.equal(code, 0, detail);
      assert.ok(ran && Number(ran[1]) >= 30, `expected at least 30 Python tests to run\n${detail}`);
      assert.equal(summary, 'OK', `every Python test must pass, none skipped\n${detail}`);
      if (process.env.WAJAH_TEST_VERBOSE) console.log(output);
    });
  });
}
