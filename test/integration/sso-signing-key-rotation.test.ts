import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { useTestApp } from '../helpers/app.ts';
import { backendNames } from '../helpers/backends.ts';
import { as, createClient } from '../helpers/foundation.ts';
import { createSsoServices } from '../../src/sso/index.ts';
import { oidcPlugin } from '../../src/sso/oidc.plugin.ts';
import { SIGNING_KEY_GRACE_SECONDS } from '../../src/sso/provider.ts';
import { SecretBox } from '../../src/sso/secret-box.ts';
import { readSigningKeySet, rotateSigningKey, SIGNING_LEAD_SECONDS } from '../../src/sso/signing-keys.ts';
import { rotateMasterKey } from '../../src/services/master-key-rotation.service.ts';

// docs/sso.md, Keys: rotating the ID-token signing key used to mean deleting its row and restarting every
// instance, after which every token already issued failed verification. Now a new key is published at once by
// every instance (no restart), signs after SIGNING_LEAD_SECONDS, and the old one stays published for
// SIGNING_KEY_GRACE_SECONDS. Time is moved by ageing the keys' rows (the schedule reads the database's clock).
// No engine: the ID tokens come from authorization codes made with the provider's own models, as a finished
// face sign-in makes them (sso-login.service.ts).
const MASTER = 'a'.repeat(64);

for (const backend of backendNames()) describe(`SSO signing-key rotation [${backend}]`, () => {
  const t = useTestApp(backend, { env: { WAJAH_MASTER_KEY: MASTER } });

  test('old tokens keep verifying, new ones carry the new kid, a second instance follows, the old key goes after the grace', async (ctx) => {
    const { app, container } = t();
    const db = container.database.db;
    // A second instance over the same database: its own provider, built before the rotation.
    const sso2 = await createSsoServices(container, container.foundation, container.face, { issuer: container.sso.issuer });
    const two = Fastify();
    two.decorate('container', { ...container, sso: sso2 });
    await two.register(oidcPlugin);
    await two.ready();
    ctx.after(() => two.close());
    // Re-read the key schedule on every request instead of every 30 s: the test moves time by SQL.
    container.sso.keys.checkIntervalMs = 0;
    sso2.keys.checkIntervalMs = 0;

    const c = await createClient(app, { tier: 'enterprise' });
    const user = await as(app, c, { method: 'POST', url: '/api/clients/users/', payload: { external_id: 'EMP001', name: 'Emp' } });
    assert.equal(user.statusCode, 201, user.body);
    const redirectUri = 'https://rp.example.com/cb';
    const rp = await as(app, c, { method: 'POST', url: '/api/sso/clients/', payload: { name: 'RP', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' } });
    assert.equal(rp.statusCode, 201, rp.body);
    const clientId = rp.json().client_id as string;

    const idToken = async (via: FastifyInstance) => {
      const provider = container.sso.provider;
      const client = await provider.Client.find(clientId);
      assert.ok(client);
      const grant = new provider.Grant({ accountId: user.json().id as string, clientId });
      grant.addOIDCScope('openid');
      const verifier = crypto.randomBytes(32).toString('base64url');
      const code = await new provider.AuthorizationCode({
        client,
        accountId: user.json().id as string,
        grantId: await grant.save(),
        scope: 'openid',
        redirectUri,
        codeChallenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
        codeChallengeMethod: 'S256',
        authTime: Math.floor(Date.now() / 1000),
        expiresWithSession: false,
        gty: 'authorization_code',
      }).save();
      const res = await via.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }).toString(),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().id_token as string;
    };
    const jwks = async (via: FastifyInstance) => {
      const res = await via.inject({ method: 'GET', url: '/oidc/jwks' });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as JSONWebKeySet;
    };
    const kids = (set: JSONWebKeySet) => set.keys.map((k) => k.kid).sort();
    const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;
    const verifies = (jwt: string, set: JSONWebKeySet) =>
      jwtVerify(jwt, createLocalJWKSet(set), { issuer: container.sso.issuer, audience: clientId }).then(
        () => true,
        () => false,
      );
    /** Time passes: every signing key is `seconds` older by the database's clock. */
    const age = (seconds: number) => sql`UPDATE sso_keys SET created_at = created_at - (${seconds} * interval '1 second') WHERE kind = 'signing'`.execute(db);

    const before = await idToken(app);
    const k0 = kidOf(before)!;
    assert.deepEqual(kids(await jwks(app)), [k0]);
    assert.deepEqual(kids(await jwks(two)), [k0]);

    const rotated = await rotateSigningKey(db, new SecretBox(container.masterKey()), SIGNING_KEY_GRACE_SECONDS);
    assert.equal(rotated.replaces?.kid, k0);
    assert.equal(rotated.signs_in, SIGNING_LEAD_SECONDS);
    const k1 = rotated.kid;
    // Published first, by both instances, without a restart; the old key still signs meanwhile.
    for (const via of [app, two]) {
      const set = await jwks(via);
      assert.deepEqual(kids(set), [k0, k1].sort());
      assert.ok(await verifies(before, set), 'a token of the old key verifies against the new JWKS');
    }
    assert.equal(kidOf(await idToken(two)), k0, 'not signing with the new key before every instance publishes it');

    await age(SIGNING_LEAD_SECONDS + 1);
    const after = await idToken(two);
    assert.equal(kidOf(after), k1, 'a token issued after the rotation carries the new kid');
    assert.equal(kidOf(await idToken(app)), k1);
    for (const via of [app, two]) {
      const set = await jwks(via);
      assert.deepEqual(kids(set), [k0, k1].sort(), 'the old key stays published for its tokens');
      assert.ok(await verifies(before, set));
      assert.ok(await verifies(after, set));
    }

    await age(SIGNING_KEY_GRACE_SECONDS - 60);
    assert.deepEqual(kids(await jwks(two)), [k0, k1].sort(), 'not removed before the grace period ends');
    await age(61);
    for (const via of [app, two]) {
      const set = await jwks(via);
      assert.deepEqual(kids(set), [k1], 'the old key is gone after the grace period');
      assert.ok(await verifies(after, set));
      assert.equal(await verifies(before, set), false);
    }
    const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sso_keys WHERE kind = 'signing'`.execute(db);
    assert.equal(rows.rows[0]!.n, 1, 'its row is deleted');

    // A master-key rotation re-seals every signing key (here two: one signing, one pending).
    const k2 = (await rotateSigningKey(db, new SecretBox(container.masterKey()), SIGNING_KEY_GRACE_SECONDS)).kid;
    const newKey = Buffer.from('b'.repeat(64), 'hex');
    await rotateMasterKey(db, container.masterKey(), newKey);
    const resealed = await readSigningKeySet(db, new SecretBox(newKey), SIGNING_KEY_GRACE_SECONDS);
    assert.deepEqual(resealed.keys.map((k) => k.kid), [k1, k2]);
  });
});
