// WebRTC streaming (R2) from a real Chromium: the page /app/streaming/ runs the guide's snippet
// (web/streaming/stream.js) with a fake camera playing a real face video; the enrolled person must be
// named in plain words (English and Indonesian) with the face boxed on the video, with the API key and
// from a link that carries only the session and its page token.
import assert from 'node:assert/strict';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useTestApp } from '../helpers/app.ts';
import { FAKECAM, browserSkip, launchBrowser, requireBrowserFiles } from '../helpers/browser.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const skip = browserSkip('WebRTC browser test');
const shotDir = process.env.WAJAH_SHOTS ?? '/tmp';
/** A raw code in text people read: NO_FACE_DETECTED, open_eyes, … */
const RAW_CODE = /\b[A-Z]{2,}(_[A-Z]+)+\b|\b[a-z]+_[a-z]+\b/;
async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('WebRTC streaming from a real browser', { skip }, () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let base = '';
  let tenant: Tenant;
  let other: Tenant;

  before(async () => {
    requireBrowserFiles();
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'Streaming browser');
    other = await createTenant(app, 'Another tenant');
    await createUser(app, tenant, 'AOC', 'Talking Blink');
    const res = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'AOC' }, { name: 'image', value: readMjpegFrames(FAKECAM)[0] }, { name: 'quality_threshold', value: '0.3' }]);
    assert.equal(res.statusCode, 201, res.body);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });
  // Registered after useTestApp's hook, so it runs once the app has closed every peer connection:
  // node-webrtc crashes if it finalises received tracks while the process exits, so collect them now.
  after(() => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    gc();
  });

  /** The who-card, the liveness line, the state and the face box with the last message (one consistent read). */
  const read = (page: Page) =>
    page.evaluate(() => {
      const pv = document.querySelector<HTMLElement>('#preview')!;
      const box = document.querySelector<HTMLElement>('#face-box')!;
      const b = box.getBoundingClientRect();
      const v = pv.getBoundingClientRect();
      return {
        outcome: document.querySelector<HTMLElement>('#who')!.dataset.outcome,
        userId: document.querySelector<HTMLElement>('#who')!.dataset.userId,
        headline: document.querySelector('#who-headline')!.textContent,
        text: ['#state', '#who', '#liveness', '#stream-error'].map((s) => (document.querySelector(s) as HTMLElement).innerText).join(' | '),
        last: JSON.parse(document.querySelector('#last')!.textContent || '{}'),
        box: box.hidden ? null : { x: b.x - v.x - pv.clientLeft, y: b.y - v.y - pv.clientTop, width: b.width, height: b.height },
        view: { width: pv.clientWidth, height: pv.clientHeight },
      };
    });

  /** The face box drawn is the reported face mapped to the mirrored, cover-fitted preview. */
  function assertFaceBox(r: Awaited<ReturnType<typeof read>>) {
    const face = r.last.result?.face;
    assert.ok(face && r.box, `a face box is drawn: ${JSON.stringify(r.box)}`);
    const s = Math.max(r.view.width / face.image_width, r.view.height / face.image_height);
    const left = (r.view.width - face.image_width * s) / 2;
    const top = (r.view.height - face.image_height * s) / 2;
    const want = { x: r.view.width - (left + (face.box.x + face.box.width) * s), y: top + face.box.y * s, width: face.box.width * s, height: face.box.height * s };
    for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(r.box![k] - want[k]) < 2, `${k}: ${r.box![k]} vs ${want[k]}`);
  }

  const sessionGone = async (id: string) => (await t().app.inject({ method: 'GET', url: `/api/streaming/sessions/${id}/`, headers: { authorization: tenant.auth } })).statusCode === 404;

  test('with the API key (own tools), in English: who was recognised in words, the face boxed on the video; Stop closes the session', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    const created: string[] = [];
    page.on('response', async (r) => {
      if (r.url().endsWith('/api/streaming/sessions/') && r.status() === 201) created.push((await r.json()).session_id);
    });
    await page.goto(`${base}/app/streaming/`);
    // Without a key the page says what is missing, in words.
    await page.click('#start');
    assert.equal(await page.locator('#stream-error').getAttribute('data-code'), 'CREDENTIALS_NEEDED');
    assert.doesNotMatch(await page.locator('#stream-error').innerText(), /CREDENTIALS_NEEDED/);
    const [apiKey, secretKey] = tenant.auth.replace(/^ApiKey /, '').split(':');
    await page.fill('input[name=api_key]', apiKey);
    await page.fill('input[name=secret_key]', secretKey);
    await page.click('#start');
    await page.locator('#who[data-outcome=recognised][data-user-id=AOC]').waitFor({ timeout: 45_000 });
    const r = await read(page);
    assert.equal(r.headline, 'Recognised: Talking Blink');
    assert.match(r.text, /Streaming\. Look at the camera\./);
    assert.match(r.text, /Confidence\s+\d+ %/);
    assert.match(r.text, /Not requested\./, 'liveness state in words');
    assert.doesNotMatch(r.text, RAW_CODE);
    assert.equal(r.last.result.result.matches[0].user_id, 'AOC');
    assertFaceBox(r);
    await page.screenshot({ path: path.join(shotDir, 'wajah-web-streaming-en.png') });
    assert.equal(created.length, 1);
    const status = await t().app.inject({ method: 'GET', url: `/api/streaming/sessions/${created[0]}/`, headers: { authorization: tenant.auth } });
    assert.equal(status.json().status, 'connected', status.body);
    assert.ok(status.json().stats.results >= 1);
    await page.click('#stop');
    await page.locator('#state', { hasText: 'Stopped.' }).waitFor();
    await waitFor(() => sessionGone(created[0]));
    await context.close();
  });

  test('from a link (the backend created the session; no secret in the page), in Indonesian; a wrong link is explained', async () => {
    // The tenant's backend: creates the session with its key and hands the page only the id and the page token.
    const res = await t().app.inject({ method: 'POST', url: '/api/streaming/sessions/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { session_type: 'webrtc', mode: 'identification' } });
    assert.equal(res.statusCode, 201, res.body);
    const { session_id: id, page_token: token } = res.json();
    const context = await browser.newContext({ locale: 'id-ID' });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    const sent: Array<{ url: string; headers: Record<string, string> }> = [];
    page.on('request', (r) => void (r.url().includes('/api/') && sent.push({ url: r.url(), headers: r.headers() })));
    await page.goto(`${base}/app/streaming/#session=${id}&token=${token}`);
    // The token leaves the address bar at once; no key field is shown.
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.locator('#link-note').isVisible(), true);
    assert.equal(await page.locator('input[name=secret_key]').isVisible(), false);
    await page.click('#start');
    await page.locator('#who[data-outcome=recognised][data-user-id=AOC]').waitFor({ timeout: 45_000 });
    const r = await read(page);
    assert.equal(r.headline, 'Dikenali: Talking Blink');
    assert.match(r.text, /Streaming berjalan\. Lihat ke kamera\./);
    assert.match(r.text, /Tidak diminta\./);
    assert.doesNotMatch(r.text, RAW_CODE);
    assertFaceBox(r);
    assert.deepEqual(await page.evaluate(() => [...(window as unknown as { __wajahI18nMissing: Set<string> }).__wajahI18nMissing]), [], 'strings without Indonesian');
    await page.screenshot({ path: path.join(shotDir, 'wajah-web-streaming-link-id.png') });
    // The page never sent an API key: only the session's token, and only for this session.
    assert.ok(sent.length >= 2);
    for (const s of sent) {
      assert.equal(s.headers.authorization, undefined, s.url);
      assert.equal(s.headers['x-stream-token'], token, s.url);
      assert.ok(s.url.includes(`/api/streaming/sessions/${id}/`), s.url);
    }
    await page.click('#stop');
    await page.locator('#state', { hasText: 'Sesi tautan ini telah berakhir' }).waitFor();
    assert.equal(await page.locator('#start').isDisabled(), true);
    assert.equal(await page.locator('#camera-off').innerText(), 'Kamera mati.');
    await waitFor(() => sessionGone(id));
    await context.close();

    // A link whose token belongs to another session (here another tenant's): explained in words, nothing streams.
    const theirs = await t().app.inject({ method: 'POST', url: '/api/streaming/sessions/', headers: { authorization: other.auth, 'content-type': 'application/json' }, payload: { session_type: 'webrtc' } });
    const mine = await t().app.inject({ method: 'POST', url: '/api/streaming/sessions/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { session_type: 'webrtc' } });
    const bad = await (await browser.newContext({ locale: 'en-US' })).newPage();
    await bad.goto(`${base}/app/streaming/#session=${mine.json().session_id}&token=${theirs.json().page_token}`);
    await bad.click('#start');
    const alert = bad.locator('#stream-error[data-code=SESSION_NOT_FOUND]');
    await alert.waitFor();
    assert.doesNotMatch(await alert.innerText(), RAW_CODE);
    assert.equal(await bad.locator('#preview').getAttribute('class'), 'preview', 'the camera stays off');
    await bad.context().close();
    for (const [who, s] of [[other, theirs], [tenant, mine]] as const) await t().app.inject({ method: 'DELETE', url: `/api/streaming/sessions/${s.json().session_id}/`, headers: { authorization: who.auth } });
  });

  test('an expired link: said in words with what to do (ask for a new link), Start no longer offered, the camera stays off', async () => {
    // The shortest window a link can have (page_token_ttl 10 s); the page is opened in time, Start pressed too late.
    const res = await t().app.inject({ method: 'POST', url: '/api/streaming/sessions/', headers: { authorization: tenant.auth, 'content-type': 'application/json' }, payload: { session_type: 'webrtc', page_token_ttl: 10 } });
    assert.equal(res.statusCode, 201, res.body);
    const { session_id: id, page_token: token, page_token_expires_at: expires } = res.json();
    for (const locale of ['en-US', 'id-ID']) {
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      await page.goto(`${base}/app/streaming/#session=${id}&token=${token}`);
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expires) + 300 - Date.now())));
      await page.click('#start');
      const alert = page.locator('#stream-error[data-code=SESSION_EXPIRED]');
      await alert.waitFor();
      const said = `${await alert.innerText()} | ${await page.locator('#state').innerText()}`;
      assert.doesNotMatch(said, RAW_CODE);
      // What to do is a new link, not "start again": this link can never connect any more.
      assert.match(said, locale === 'en-US' ? /new link/ : /tautan baru/, said);
      assert.equal(await page.locator('#start').isDisabled(), true, 'Start is not offered for a dead link');
      assert.doesNotMatch(await page.locator('#camera-off').innerText(), /Start|Mulai/, 'nor asked for');
      assert.equal(await page.locator('#preview').getAttribute('class'), 'preview', 'the camera stays off');
      if (locale === 'id-ID') {
        assert.deepEqual(await page.evaluate(() => [...(window as unknown as { __wajahI18nMissing: Set<string> }).__wajahI18nMissing]), [], 'strings without Indonesian');
        await page.screenshot({ path: path.join(shotDir, 'wajah-web-streaming-link-expired-id.png') });
      }
      await context.close();
    }
    // The session itself is the tenant's until its own timeout: its backend can still close it.
    const closed = await t().app.inject({ method: 'DELETE', url: `/api/streaming/sessions/${id}/`, headers: { authorization: tenant.auth } });
    assert.ok(closed.statusCode === 200 || closed.statusCode === 204, closed.body);
  });

  test('liveness from a link: the challenge under way, then the verdict, in words', async () => {
    // The backend chooses the checks: one blink, with time enough for the recorded video.
    const res = await t().app.inject({
      method: 'POST',
      url: '/api/streaming/sessions/',
      headers: { authorization: tenant.auth, 'content-type': 'application/json' },
      payload: { session_type: 'webrtc', mode: 'identification', require_liveness: true, liveness_challenges: ['blink'], challenge_timeout: 30, max_fps: 12 },
    });
    assert.equal(res.statusCode, 201, res.body);
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${base}/app/streaming/#session=${res.json().session_id}&token=${res.json().page_token}`);
    await page.evaluate(() => {
      const w = window as unknown as { __liveness: string[] };
      w.__liveness = [];
      const p = document.querySelector('#liveness')!;
      new MutationObserver(() => w.__liveness.push(`${(p as HTMLElement).dataset.state}: ${p.textContent}`)).observe(p, { childList: true, characterData: true, subtree: true, attributes: true });
    });
    await page.click('#start');
    await page.locator('#liveness[data-state=passed]').waitFor({ timeout: 45_000 });
    // The verdict stays readable while the stream starts its next check.
    await page.waitForTimeout(1500);
    assert.equal(await page.locator('#liveness').getAttribute('data-state'), 'passed');
    const seen = await page.evaluate(() => (window as unknown as { __liveness: string[] }).__liveness);
    assert.ok(seen.some((l) => l === 'checking: Checking: Blink slowly. (0 of 1 done)'), JSON.stringify(seen.slice(0, 5)));
    assert.ok(seen.includes('passed: Passed: a live person is in front of the camera.'), JSON.stringify(seen.slice(-5)));
    await page.locator('#who[data-outcome=recognised][data-user-id=AOC]').waitFor({ timeout: 10_000 });
    for (const l of seen) assert.doesNotMatch(l.replace(/^\w+: /, ''), RAW_CODE);
    await page.screenshot({ path: path.join(shotDir, 'wajah-web-streaming-liveness.png') });
    await page.click('#stop');
    await context.close();
  });

  test('the page fits a phone (390 px) in both languages', async () => {
    for (const locale of ['en-US', 'id-ID']) {
      const context = await browser.newContext({ locale, viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      await page.goto(`${base}/app/streaming/`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${locale}: ${width}px wide`);
      const off = await page.evaluate(() =>
        Array.from(document.querySelectorAll('button, input, select, a'))
          .filter((e) => (e as HTMLElement).offsetParent !== null && !e.classList.contains('skip-link'))
          .filter((e) => {
            const r = e.getBoundingClientRect();
            return r.left < 0 || r.right > 390;
          })
          .map((e) => e.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(off, [], locale);
      if (locale === 'id-ID') await page.screenshot({ path: path.join(shotDir, 'wajah-web-streaming-390-id.png'), fullPage: true });
      await context.close();
    }
  });
});
