// docs/sso.md, "login_hint": anyone can open a relying party's authorization URL (its client_id is public).
// A login_hint naming no active user of the tenant was refused at once (the interaction page redirected back
// with access_denied, "This user cannot sign in here") while a real user's hint got the face page: an outsider
// learned which employee ids exist. Now every hint of a normal length gets the same page, the same start
// answer and the same face check, which fails for a hint naming nobody (a decoy session that matches no one)
// exactly as a face that does not match; the audit log keeps the truth (`login_hint_refused`).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm } from '../helpers/face-fixtures.ts';
import { Browser, REDIRECT, authorizeUrl, followToRp, pkce } from '../helpers/sso-browser.ts';
import { testDataDir } from '../../src/config/env.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const video = (name: string) => readMjpegFrames(path.join(testDataDir(), 'video/fakecam', name));

describe('SSO: login_hint does not tell which users exist [pglite]', () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  const headturn = video('personA_live_headturn_640x360_15fps.mjpeg');
  const blink = video('talking_blink_aoc_512x512_25fps.mjpeg');
  // Person A turning their head: enrolled in the tenant as AOC, and the wrong face for EMPB.
  const signInFrames = headturn.filter((_, i) => i > 0 && i % 2 === 0);

  test('a hint of a real user and of nobody: same page, same start, same face check failing the same way; the audit tells them apart', async () => {
    const { app, container } = t();
    const tenant = await createTenant(app, 'Hints');
    await createUser(app, tenant, 'AOC', 'Person A');
    await createUser(app, tenant, 'EMPB', 'Person B');
    await createUser(app, tenant, 'GONE', 'Deactivated');
    await createUser(app, tenant, 'NOFACE', 'Not enrolled');
    for (const [user, bytes] of [['AOC', headturn[0]!], ['EMPB', blink[0]!]] as const) {
      const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: user }, { name: 'image', value: bytes }, { name: 'quality_threshold', value: '0.3' }]);
      assert.equal(res.statusCode, 201, res.body);
    }
    assert.equal((await app.inject({ method: 'POST', url: '/api/clients/users/GONE/deactivate/', headers: { authorization: tenant.auth } })).statusCode, 200);
    const created = await app.inject({
      method: 'POST',
      url: '/api/sso/clients/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { name: 'Portal', redirect_uris: [REDIRECT], liveness_challenges: ['head_movement'], max_attempts: 1, token_endpoint_auth_method: 'none' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rpId = created.json().client_id as string;

    /** What the browser sees of a sign-in up to the face step, without what differs by nature (uid, times). */
    const open = async (hint: string) => {
      const br = new Browser(app);
      const auth = await br.request('GET', authorizeUrl(rpId, { challenge: pkce().challenge, state: 'st', nonce: 'nn', scope: 'openid', loginHint: hint }));
      const location = String(auth.headers.location);
      const uid = /\/oidc\/interaction\/([^/?]+)$/.exec(location)?.[1] ?? '';
      const page = await br.request('GET', location);
      const started = page.statusCode === 200 ? await br.request('POST', `/oidc/interaction/${uid}/start`) : null;
      const start = started?.json() as { liveness?: Record<string, unknown> } | undefined;
      if (start?.liveness) delete start.liveness.challenge_expires_at;
      const seen = {
        auth: [auth.statusCode, location.replace(uid, '<uid>')],
        page: [page.statusCode, page.headers['content-type'], page.headers['cache-control'], page.statusCode === 200 ? page.body : String(page.headers.location)],
        start: [started?.statusCode, start],
      };
      return { br, uid, seen };
    };
    // The face step: person A's face, the wrong face for EMPB, and an enrolled user of the tenant (AOC) for
    // the hint naming nobody. Both are refused the same way, frame by frame.
    const run = async (s: Awaited<ReturnType<typeof open>>) => {
      const answers: Array<Record<string, unknown>> = [];
      for (const f of signInFrames) {
        const res = await s.br.frame(s.uid, f);
        assert.equal(res.statusCode, 200, res.body);
        answers.push(res.json());
        if (res.json().status !== 'processing') break;
      }
      const last = answers.at(-1)!;
      assert.equal(last.status, 'denied', JSON.stringify(last));
      const cb = await followToRp(s.br, String(last.redirect_to));
      return { statuses: answers.map((a) => a.status), rp: [cb.origin + cb.pathname, cb.searchParams.get('error'), cb.searchParams.get('error_description'), cb.searchParams.get('state'), cb.searchParams.get('code')] };
    };
    // Each face step runs right after its own start: a session started and left waiting while another
    // ran its frames could see its challenge timer run out under load and end differently.
    const real = await open('EMPB');
    assert.equal(real.seen.page[0], 200, 'a real user\'s hint gets the face page');
    const realFace = await run(real);
    let nobodyFace: Awaited<ReturnType<typeof run>> | null = null;
    const others = new Map<string, Awaited<ReturnType<typeof open>>>();
    for (const hint of ['NOBODY', 'GONE', 'NOFACE']) {
      const other = await open(hint);
      assert.deepEqual(other.seen, real.seen, `a hint of ${hint} is told apart from a real user's before any face is shown`);
      others.set(hint, other);
      if (hint === 'NOBODY') nobodyFace = await run(other);
    }
    for (const hint of ['GONE', 'NOFACE']) assert.equal((await others.get(hint)!.br.request('POST', `/oidc/interaction/${others.get(hint)!.uid}/cancel`)).statusCode, 200);
    assert.deepEqual(nobodyFace, realFace, 'the face step of a hint naming nobody ends as a wrong face does');
    assert.equal(realFace.rp[1], 'access_denied');
    assert.equal(realFace.rp[4], null, 'no code');
    assert.ok(realFace.statuses.length > 2, `the face session ran through its frames: ${realFace.statuses.join(',')}`);

    // AOC's face was never recognised for the hint naming nobody.
    const db = container.database.db;
    const successes = await db.selectFrom('events').select('payload').where('client_id', '=', tenant.clientId).where('event_type', '=', 'authentication.success').execute();
    assert.deepEqual(successes, []);

    // The operator's truth.
    await container.foundation.audit.flush();
    const rows = await db.selectFrom('audit_logs').select(['details']).where('client_id', '=', tenant.clientId).where('action', '=', 'sso.login.denied').orderBy('created_at').execute();
    const details = rows.map((r) => (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown>);
    const refusals = Object.fromEntries(details.map((d) => [String(d.login_hint ?? 'EMPB'), d.login_hint_refused ?? null]));
    assert.deepEqual(refusals, { GONE: 'inactive', NOFACE: 'not_enrolled', EMPB: null, NOBODY: 'unknown' }, JSON.stringify(details));
  });
});
