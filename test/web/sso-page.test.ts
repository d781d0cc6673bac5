// The SSO face sign-in page (feature C4, docs/sso.md) in a real Chromium whose fake camera plays the
// head-turn video (a face sign-in asks for a head movement): an RP's authorization request ends back at
// the RP with a code.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { useTestApp } from '../helpers/app.ts';
import { FAKECAM_HEADTURN, browserSkip, launchBrowser, requireBrowserFiles } from '../helpers/browser.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm } from '../helpers/face-fixtures.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const skip = browserSkip('SSO page test');

// The provider advertises and redirects to its configured issuer only (never the request's Host), so the
// server listens on the port the issuer names: a free one, chosen first.
const port = await new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (probe.address() as AddressInfo).port;
    probe.close(() => resolve(p));
  });
});

describe('SSO sign-in page in a real browser', { skip }, () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY, WAJAH_SSO_ISSUER: `http://localhost:${port}/oidc`, PORT: String(port) } });
  let browser: Browser;
  let base: string;

  before(async () => {
    requireBrowserFiles([FAKECAM_HEADTURN]);
    const { app } = t();
    await app.listen({ port, host: '127.0.0.1' });
    base = `http://localhost:${port}`;
    browser = await launchBrowser(FAKECAM_HEADTURN);
  });

  after(async () => {
    await browser?.close();
  });

  test('face sign-in with the camera returns to the RP with a code', async () => {
    const { app } = t();
    const tenant = await createTenant(app, 'SSO page');
    await createUser(app, tenant, 'AOC', 'Person A');
    const first = readMjpegFrames(FAKECAM_HEADTURN)[0];
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'AOC' }, { name: 'image', value: first }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const callback = `${base}/rp/callback`;
    const reg = await app.inject({ method: 'POST', url: '/api/sso/clients/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { name: 'Page RP', redirect_uris: [callback], liveness_challenges: ['head_movement'] } });
    assert.equal(reg.statusCode, 201, reg.body);
    const { client_id } = reg.json();
    const verifier = crypto.randomBytes(32).toString('base64url');
    const q = new URLSearchParams({
      client_id,
      redirect_uri: callback,
      response_type: 'code',
      scope: 'openid profile',
      state: 'page-state',
      nonce: 'page-nonce',
      login_hint: 'AOC',
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, reducedMotion: 'reduce' });
    const page = await context.newPage();
    // Every frame answer, in order (one request in flight), to compare with the oval drawn after it.
    const answers: Array<Record<string, any>> = [];
    await page.route('**/frame', async (route) => {
      const res = await route.fetch();
      answers.push(await res.json().catch(() => ({})));
      await route.fulfill({ response: res });
    });
    await page.goto(`${base}/oidc/auth?${q}`);
    await page.waitForURL(/\/oidc\/interaction\//);
    await page.evaluate(() => {
      const w = window as unknown as { __ovals: unknown[] };
      w.__ovals = [];
      const g = document.querySelector<HTMLElement>('#preview .face-guide')!;
      const pv = document.querySelector<HTMLElement>('#preview')!;
      new MutationObserver(() => {
        const o = g.querySelector('.oval')!.getBoundingClientRect();
        const v = pv.getBoundingClientRect();
        w.__ovals.push({ answer: Number(g.dataset.answer), live: pv.classList.contains('live'), cx: o.x - v.x - pv.clientLeft + o.width / 2, cy: o.y - v.y - pv.clientTop + o.height / 2, view: { width: pv.clientWidth, height: pv.clientHeight }, progress: g.dataset.progress });
      }).observe(g, { attributes: true, attributeFilter: ['data-answer'] });
    });
    assert.equal(await page.title(), 'Sign in with your face');
    await page.screenshot({ path: '/tmp/wajah-sso-page-before.png', fullPage: true });
    await page.click('#start');
    // The page names the application the person signs in to.
    await page.locator('#application', { hasText: 'Page RP' }).waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#challenge')?.textContent === 'Turn your head slowly to one side.', null, { timeout: 15_000 });
    await page.locator('#preview .face-guide[data-face=tracked]').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: '/tmp/wajah-sso-page-running.png', fullPage: true });
    const ovals = (await page.evaluate(() => (window as unknown as { __ovals: Array<{ answer: number; live: boolean; cx: number; cy: number; view: { width: number; height: number }; progress: string }> }).__ovals)).filter((o) => o.live);
    await page.waitForURL(/\/rp\/callback\?/, { timeout: 60_000 });
    // The oval sat on the face the server reported for each frame (mapped to the mirrored, cover-fitted preview).
    let checked = 0;
    for (const o of ovals) {
      const face = answers[o.answer - 1]?.face;
      if (!face) continue;
      const s = Math.max(o.view.width / face.image_width, o.view.height / face.image_height);
      const x2 = (o.view.width - face.image_width * s) / 2 + (face.box.x + face.box.width) * s;
      const left = o.view.width - x2;
      const top = (o.view.height - face.image_height * s) / 2 + face.box.y * s;
      assert.ok(o.cx >= left && o.cx <= left + face.box.width * s && o.cy >= top && o.cy <= top + face.box.height * s, `answer ${o.answer}: oval off the face`);
      assert.equal(o.progress, '0/1', 'the ring counts the one head movement');
      checked++;
    }
    assert.ok(checked >= 1, `${checked} frames checked`);
    const back = new URL(page.url());
    assert.equal(back.searchParams.get('state'), 'page-state');
    assert.ok(back.searchParams.get('code'), page.url());
    await context.close();
  });
});
