// docs/sso.md, "At rest": an interaction's uid (in the sign-in page's URL and the provider's interaction
// cookies) was the id of its `oidc_payloads` row and the key of its `sso_logins` row, as it is: whoever read
// the tables (a dump, a backup, a read replica) held the key of every sign-in in progress. It is stored as a
// keyed hash now, like every other provider id: no row holds the uid, and a row's key, copied into the URL,
// names no interaction, even from the browser holding that interaction's cookies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendNames } from '../helpers/backends.ts';
import { useTestApp } from '../helpers/app.ts';
import { as, createClient } from '../helpers/foundation.ts';
import { Browser, authorizeUrl, followToRp, pkce } from '../helpers/sso-browser.ts';
import type { DB } from '../../src/db/database.ts';

type Row = Record<string, unknown>;
const rowsOf = (db: DB, table: 'oidc_payloads' | 'sso_logins') => (db as unknown as { selectFrom(t: string): { selectAll(): { execute(): Promise<Row[]> } } }).selectFrom(table).selectAll().execute();
const text = (row: Row) => JSON.stringify(row, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));

for (const backend of backendNames()) {
  describe(`SSO: an interaction's uid is not stored [${backend}]`, () => {
    const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: 'b'.repeat(64) } });

    test('no row holds the uid, and a row key copied into the URL resumes nothing; the uid itself still works', async () => {
      const { app, container } = t();
      const db = container.database.db;
      const c = await createClient(app, { tier: 'enterprise' });
      const rp = await as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: ['https://rp.example.com/callback'], token_endpoint_auth_method: 'none' } });
      assert.equal(rp.statusCode, 201, rp.body);
      const br = new Browser(app);
      const auth = await br.request('GET', authorizeUrl(rp.json().client_id, { challenge: pkce().challenge, state: 'st', scope: 'openid', loginHint: 'NOBODY' }));
      assert.equal(auth.statusCode, 303, auth.body);
      const page = String(auth.headers.location);
      const uid = /\/oidc\/interaction\/([^/?]+)$/.exec(page)![1]!;
      assert.equal((await br.request('GET', page)).statusCode, 200);
      assert.equal((await br.request('POST', `${page}/start`)).statusCode, 200);

      // What a reader of the database sees.
      const payloads = await rowsOf(db, 'oidc_payloads');
      const logins = await rowsOf(db, 'sso_logins');
      const interactions = payloads.filter((r) => r.model === 'Interaction');
      assert.equal(interactions.length, 1, 'the interaction is stored');
      assert.equal(logins.length, 1, 'its face sign-in is stored');
      for (const row of [...payloads, ...logins]) assert.ok(!text(row).includes(uid), `the uid ${uid} is readable at rest: ${text(row).slice(0, 300)}`);

      // Each key read from the tables, put where the uid goes, with the interaction's own cookies (a copy of the
      // browser's: the provider clears a refused resume's cookies).
      const copy = () => {
        const other = new Browser(app);
        for (const [k, v] of br.cookies) other.cookies.set(k, v);
        return other;
      };
      for (const key of [String(interactions[0]!.id), String(logins[0]!.uid)]) {
        const br = copy();
        const opened = await br.request('GET', `/oidc/interaction/${key}`);
        assert.equal(opened.statusCode, 404, `GET with a stored key: ${opened.statusCode} ${opened.body.slice(0, 200)}`);
        assert.equal(opened.json().code, 'SSO_INTERACTION_NOT_FOUND');
        for (const call of ['start', 'cancel']) {
          const res = await br.request('POST', `/oidc/interaction/${key}/${call}`);
          assert.equal(res.statusCode, 404, `${call} with a stored key: ${res.statusCode} ${res.body.slice(0, 200)}`);
        }
        // The provider's resume endpoint goes by its own cookie, not the URL: without it, a key resumes nothing.
        const resumed = await new Browser(app).request('GET', `/oidc/auth/${key}`);
        assert.equal(resumed.statusCode, 400, `resume with a stored key: ${resumed.statusCode} ${String(resumed.headers.location)}`);
      }

      // The interaction is untouched: the browser, with the uid, still ends it (cancel: access_denied at the RP).
      const cancelled = await br.request('POST', `${page}/cancel`);
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      const back = await followToRp(br, cancelled.json().redirect_to);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'st');
    });
  });
}
