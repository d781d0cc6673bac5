import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { rejectsWithCode } from '../helpers/assert-code.ts';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { verifyOffline, type VerifyOfflineInput } from '../../src/offline/verifier.ts';
import { acceptRevocationList, type RevocationPayload } from '../../src/offline/revocation-list.ts';
import type { OfflinePackage } from '../../src/offline/package-format.ts';
import { isAppError } from '../../src/errors.ts';
import { testDataDir } from '../../src/config/env.ts';

/**
 * Offline recall (docs/offline.md, "Recall"): deactivating or deleting a user, or recalling them through the API,
 * puts them on the tenant's signed revocation list, and a device holding the list refuses their packages issued
 * before, before any face work. Without the list a device cannot know (the first checks show it).
 */
const FR = 'faces_extra/face_recognition';
const SECRET = 'device-secret-recall-5b7e01';
const root = path.resolve(import.meta.dirname, '../..');

type Answer = { package: OfflinePackage; issued_at: string };
type ListAnswer = { client_id: string; issued_at: string; revocation_count: number; list: { format: string; key_id: string; payload: string; signature: string } };
const entries = (l: ListAnswer): RevocationPayload['revocations'] => (JSON.parse(Buffer.from(l.list.payload, 'base64url').toString('utf8')) as RevocationPayload).revocations;

const rejects = rejectsWithCode;

for (const backend of backendNames()) {
  describe(`offline recall [${backend}]`, () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-offline-recall-'));
    const t = useTestApp(backend, { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY, WAJAH_DATA_DIR: dataDir } });
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let tenant: Tenant;
    let other: Tenant;
    let publicKey: string;
    const pkgs: Record<string, Answer> = {};
    const lists: Record<string, ListAnswer> = {};
    const uuids: Record<string, string> = {};

    const api = (who: Tenant, method: 'GET' | 'POST' | 'DELETE', url: string) => t().app.inject({ method, url, headers: { authorization: who.auth } });
    const issue = async (user: string): Promise<Answer> => {
      const res = await postJson(t().app, `/api/clients/users/${user}/offline-package/`, tenant, { package_secret: SECRET });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    };
    const fetchList = async (who = tenant): Promise<ListAnswer> => {
      const res = await api(who, 'GET', '/api/offline/revocations/');
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const input = (a: Answer, revocations?: unknown): VerifyOfflineInput => ({ package: a, packageSecret: SECRET, publicKey, clientId: tenant.clientId, image: dataFile(`${FR}/obama/obama_02.jpg`), revocations });
    /**
     * Without face work: the device clock at the expiry with allowExpired runs every check (signature, tenant,
     * recall, decryption) and answers expired:true instead of looking at a face.
     */
    const passesChecks = async (a: Answer, revocations?: unknown) => {
      const { expires_at } = JSON.parse(Buffer.from(a.package.payload, 'base64url').toString('utf8')) as { expires_at: string };
      const r = await verifyOffline({ ...input(a, revocations), now: new Date(expires_at), allowExpired: true });
      assert.equal(r.expired, true);
    };

    test('setup: packages of three users, issued while they are active', async () => {
      const { app } = t();
      tenant = await createTenant(app, 'Recall A');
      other = await createTenant(app, 'Recall B');
      const people: Array<[string, string]> = [['EMP001', 'obama/obama_01.jpg'], ['EMP002', 'biden/biden_01.jpg'], ['EMP003', 'kit_harington/kit_harington_01.jpeg']];
      for (const [user, photo] of people) {
        uuids[user] = await createUser(app, tenant, user);
        const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [
          { name: 'user_id', value: user },
          { name: 'image', value: dataFile(`${FR}/${photo}`) },
          { name: 'quality_threshold', value: '0.3' },
        ]);
        assert.equal(res.statusCode, 201, res.body);
        pkgs[user] = await issue(user);
      }
      publicKey = (await app.inject({ method: 'GET', url: '/api/offline/public-key/' })).json().pem;
      lists.empty = await fetchList();
      assert.equal(lists.empty.revocation_count, 0);
    });

    test('deactivated (EMP001) and deleted (EMP002) users: their packages still pass without the list, are OFFLINE_PACKAGE_REVOKED with it', async () => {
      assert.equal((await api(tenant, 'POST', '/api/clients/users/EMP001/deactivate/')).statusCode, 200);
      assert.equal((await api(tenant, 'DELETE', '/api/clients/users/EMP002/')).statusCode, 204);
      lists.recalled = await fetchList();
      assert.deepEqual(entries(lists.recalled).map((e) => e.user_id).sort(), [uuids.EMP001, uuids.EMP002].sort());
      for (const user of ['EMP001', 'EMP002']) {
        await passesChecks(pkgs[user]!); // the weakness without the list
        await passesChecks(pkgs[user]!, lists.empty);
        await rejects(verifyOffline(input(pkgs[user]!, lists.recalled.list)), 'OFFLINE_PACKAGE_REVOKED');
        await rejects(verifyOffline(input(pkgs[user]!, JSON.stringify(lists.recalled))), 'OFFLINE_PACKAGE_REVOKED');
      }
      await passesChecks(pkgs.EMP003!, lists.recalled);
    });

    test('reactivated: a package issued after the reactivation is accepted (face and all); the old one stays refused', async () => {
      assert.equal((await api(tenant, 'POST', '/api/clients/users/EMP001/activate/')).statusCode, 200);
      pkgs.EMP001_again = await issue('EMP001');
      lists.reactivated = await fetchList();
      const engine = t().container.engine!;
      const fresh = await verifyOffline({ ...input(pkgs.EMP001_again, lists.reactivated), engine });
      assert.equal(fresh.authenticated, true);
      const oldWithoutList = await verifyOffline({ ...input(pkgs.EMP001!), engine });
      assert.equal(oldWithoutList.authenticated, true, 'without the list the recalled package still opens the door');
      await rejects(verifyOffline(input(pkgs.EMP001!, lists.reactivated)), 'OFFLINE_PACKAGE_REVOKED');
    });

    test('POST /api/offline/revocations/ recalls an active user’s packages; unknown and other tenants’ users are 404', async () => {
      const res = await postJson(t().app, '/api/offline/revocations/', tenant, { user_id: 'EMP003' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().user_uuid, uuids.EMP003);
      lists.explicit = await fetchList();
      await rejects(verifyOffline(input(pkgs.EMP003!, lists.explicit)), 'OFFLINE_PACKAGE_REVOKED');
      await passesChecks(pkgs.EMP001_again!, lists.explicit);
      const audit = await t().container.database.db.selectFrom('audit_logs').select(['action', 'target']).where('action', '=', 'offline_package.recalled').execute();
      assert.deepEqual(audit, [{ action: 'offline_package.recalled', target: uuids.EMP003 }]);
      for (const [who, user] of [[tenant, 'NOBODY'], [other, 'EMP001']] as const) {
        const r = await postJson(t().app, '/api/offline/revocations/', who, { user_id: user });
        assert.equal(r.statusCode, 404, r.body);
      }
      assert.equal((await t().app.inject({ method: 'GET', url: '/api/offline/revocations/' })).statusCode, 401);
    });

    test('a tampered list, another tenant’s list, a package given as a list are refused', async () => {
      const l = lists.explicit.list;
      const payload = Buffer.from(l.payload, 'base64url');
      payload[payload.length - 3] ^= 1;
      await rejects(verifyOffline(input(pkgs.EMP001_again!, { ...l, payload: payload.toString('base64url') })), 'OFFLINE_SIGNATURE_INVALID');
      // Drop the recall of EMP003 from the payload: still one changed byte range, still refused.
      const dropped = JSON.parse(Buffer.from(l.payload, 'base64url').toString()) as RevocationPayload;
      dropped.revocations = dropped.revocations.filter((e) => e.user_id !== uuids.EMP003);
      await rejects(verifyOffline(input(pkgs.EMP003!, { ...l, payload: Buffer.from(JSON.stringify(dropped)).toString('base64url') })), 'OFFLINE_SIGNATURE_INVALID');
      await rejects(verifyOffline(input(pkgs.EMP001_again!, (await fetchList(other)).list)), 'OFFLINE_CLIENT_MISMATCH');
      await rejects(verifyOffline(input(pkgs.EMP001_again!, pkgs.EMP003!.package)), 'OFFLINE_PACKAGE_INVALID');
    });

    test('rollback: an older list does not replace a newer one', () => {
      const o = { publicKey, clientId: tenant.clientId };
      assert.throws(() => acceptRevocationList({ ...o, held: lists.explicit, incoming: lists.empty }), (e: unknown) => isAppError(e) && e.code === 'OFFLINE_REVOCATIONS_OUTDATED');
      assert.equal(acceptRevocationList({ ...o, held: lists.empty, incoming: lists.explicit }).revokedBefore.size, 3);
      assert.equal(acceptRevocationList({ ...o, held: null, incoming: lists.empty }).revokedBefore.size, 0);
    });

    test('the trigger records a deactivation made in SQL; recalls older than 90 days leave the list; deleting a client works', async () => {
      const db = t().container.database.db;
      const quiet = await createUser(t().app, tenant, 'EMP004');
      await db.updateTable('users').set({ is_active: false }).where('id', '=', quiet).execute();
      assert.ok(entries(await fetchList()).some((e) => e.user_id === quiet));
      await db.updateTable('offline_revocations').set({ revoked_before: new Date(Date.now() - 91 * 86_400_000) }).where('user_id', '=', quiet).execute();
      assert.ok(!entries(await fetchList()).some((e) => e.user_id === quiet));
      const victim = await createUser(t().app, other, 'GONE');
      await db.deleteFrom('clients').where('id', '=', other.clientId).execute();
      const left = await db.selectFrom('offline_revocations').select('user_id').where((eb) => eb.or([eb('client_id', '=', other.clientId), eb('user_id', '=', victim)])).execute();
      assert.deepEqual(left, []);
    });

    if (backend === backendNames()[0]) {
      test('CLI: --revocations refuses a recalled package (exit 2, no face work); update-revocations refuses an older list', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-recall-cli-'));
        try {
          const file = (name: string, value: unknown) => (fs.writeFileSync(path.join(dir, name), typeof value === 'string' ? value : JSON.stringify(value)), path.join(dir, name));
          const common = ['--public-key', file('key.pem', publicKey), '--client-id', tenant.clientId];
          const run = (args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/wajah.js'), 'offline', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, WAJAH_DATA_DIR: path.join(dir, 'no-data-dir'), WAJAH_OFFLINE_PACKAGE_SECRET: SECRET } });
          let r = run(['verify', '--package', file('pkg.json', pkgs.EMP003), '--revocations', file('list.json', lists.explicit), '--image', path.join(testDataDir(), FR, 'obama/obama_02.jpg'), ...common]);
          assert.equal(r.status, 2, r.stderr);
          assert.equal(JSON.parse(r.stdout).error.code, 'OFFLINE_PACKAGE_REVOKED');
          const store = path.join(dir, 'held.json');
          r = run(['update-revocations', '--list', file('old.json', lists.empty), '--store', store, ...common]);
          assert.equal(r.status, 0, r.stderr);
          r = run(['update-revocations', '--list', path.join(dir, 'list.json'), '--store', store, ...common]);
          assert.equal(r.status, 0, r.stderr);
          r = run(['update-revocations', '--list', path.join(dir, 'old.json'), '--store', store, ...common]);
          assert.equal(r.status, 2, r.stdout);
          assert.equal(JSON.parse(r.stdout).error.code, 'OFFLINE_REVOCATIONS_OUTDATED');
          assert.deepEqual(JSON.parse(fs.readFileSync(store, 'utf8')), lists.explicit, 'the newer list is kept');
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
