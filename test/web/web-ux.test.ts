// Issue 12 in a real Chromium against a real app (real face engine): plain words for every code in
// English and Indonesian, every page at 390 px, camera coaching (countdown, steady instruction, no-face
// time-out, camera permission refused), the dashboard's charts and empty states, webhook test outcomes
// and copyable secrets that go away.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { CHROMIUM, browserSkip, launchBrowser, requireBrowserFiles, signInConsole } from '../helpers/browser.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';

const PHOTO = path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_01.jpg');
const NO_FACE = path.join(testDataDir(), 'no_face/skimage_coffee.png');
const skip = browserSkip('web ux tests', [PHOTO, NO_FACE]);
const shotDir = process.env.WAJAH_SHOTS ?? '/tmp';
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shotDir, `wajah-web-${name}.png`), fullPage: true });
/** A raw code in text people read or hear: NO_FACE_DETECTED, open_eyes, … */
const RAW_CODE = /\b[A-Z]{2,}(_[A-Z]+)+\b|\b[a-z]+_[a-z]+\b/;

describe('web pages people like (issue 12)', { skip }, () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let noFaceBrowser: Browser;
  let deniedBrowser: Browser;
  let base: string;
  let tenant: Tenant;
  let empty: Tenant;
  let noFaceCam: string;

  const inject = (method: 'GET' | 'POST', url: string, x: Tenant, payload?: object) =>
    t().app.inject({ method, url, headers: { authorization: x.auth, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload } : {}) });

  async function upload(url: string, fields: Record<string, string>, image: Buffer): Promise<number> {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    fd.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${base}${url}`, { method: 'POST', headers: { authorization: tenant.auth }, body: fd });
    await res.arrayBuffer();
    return res.status;
  }

  before(async () => {
    requireBrowserFiles([PHOTO, NO_FACE]);
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'UX Test');
    empty = await createTenant(app, 'Empty Tenant');
    await createUser(app, tenant, 'UX001', 'Barack Obama');
    // Decisions for the dashboard: an enrollment, two verifications, one photo without a face.
    assert.equal(await upload('/api/auth/enrollment/direct/', { user_id: 'UX001', quality_threshold: '0.3' }, dataFile('faces_extra/face_recognition/obama/obama_01.jpg')), 201);
    for (let i = 0; i < 2; i++) assert.equal(await upload('/api/auth/authentication/verify/', { user_id: 'UX001' }, dataFile('faces_extra/face_recognition/obama/obama_01.jpg')), 200);
    const coffee = await sharp(NO_FACE).jpeg().toBuffer();
    assert.equal(await upload('/api/auth/authentication/verify/', { user_id: 'UX001' }, coffee), 422);
    // A camera that sees no face: the coffee photo as an MJPEG stream.
    noFaceCam = path.join(os.tmpdir(), `wajah-noface-${process.pid}.mjpeg`);
    const frame = await sharp(NO_FACE).resize(512, 512).jpeg({ quality: 85 }).toBuffer();
    fs.writeFileSync(noFaceCam, Buffer.concat(Array.from({ length: 25 }, () => frame)));
    browser = await launchBrowser();
    noFaceBrowser = await launchBrowser(noFaceCam);
    // No fake permission UI: the camera prompt is refused, as when a person clicks "Block".
    deniedBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
  });

  after(async () => {
    await Promise.all([browser?.close(), noFaceBrowser?.close(), deniedBrowser?.close()]);
    if (noFaceCam) fs.rmSync(noFaceCam, { force: true });
  });

  async function newContext(b: Browser, opts: { locale?: string; width?: number } = {}): Promise<BrowserContext> {
    const context = await b.newContext({ viewport: { width: opts.width ?? 1280, height: 844 }, locale: opts.locale ?? 'en-US' });
    await context.addInitScript(() => {
      const w = window as unknown as { __spoken: Array<{ text: string; lang: string; t: number }> };
      w.__spoken = [];
      if (window.speechSynthesis) {
        window.speechSynthesis.speak = (u: SpeechSynthesisUtterance) => void w.__spoken.push({ text: u.text, lang: u.lang, t: Date.now() });
        window.speechSynthesis.cancel = () => {};
      }
    });
    return context;
  }

  async function page(context: BrowserContext): Promise<Page> {
    const p = await context.newPage();
    p.on('dialog', (d) => void d.accept());
    p.on('pageerror', (e) => console.error('page error:', e.message));
    return p;
  }

  const signIn = (p: Page, x: Tenant = tenant) => signInConsole(p, base, x.auth);

  const missing = (p: Page) => p.evaluate(() => [...((window as unknown as { __wajahI18nMissing: Set<string> }).__wajahI18nMissing ?? [])]);

  test('the message table says every documented error code in plain English and Indonesian, with a next step', async () => {
    const documented = [...fs.readFileSync('docs/errors.md', 'utf8').matchAll(/^\| `([A-Z_0-9]+)` \|/gm)].map((m) => m[1]);
    assert.ok(documented.length > 50);
    const p = await page(await newContext(browser));
    await p.goto(`${base}/app/console/`);
    const table = await p.evaluate(async () => {
      const m = await import('/app/assets/messages.js' as string);
      return { messages: m.MESSAGES, next: m.NEXT };
    });
    for (const code of [...documented, 'NETWORK_ERROR', 'CAMERA_DENIED', 'CAMERA_UNAVAILABLE', 'NO_FACE_TIMEOUT', 'NO_MATCH', 'SPOOF_DETECTED', 'CHALLENGE_TIMEOUT']) {
      const m = table.messages[code];
      assert.ok(m, `${code} has a message`);
      for (const lang of ['en', 'id']) {
        assert.equal(m[lang].length, 2, `${code} ${lang}: what happened, what to do`);
        for (const s of m[lang]) assert.ok(s.length > 5 && !s.includes(code), `${code} ${lang}: "${s}"`);
      }
      assert.notEqual(m.en[0], m.id[0], `${code} is translated`);
      assert.ok(table.next[m.next]?.en && table.next[m.next]?.id, `${code} has a next step (${m.next})`);
    }
    await p.context().close();
  });

  test("a liveness failure is explained by its own reason: the time ran out is not 'not a live person'", async () => {
    const p = await page(await newContext(browser));
    await p.goto(`${base}/app/console/`);
    const shown = await p.evaluate(async () => {
      const d = await import('/app/assets/decision.js' as string);
      const answer = (reason: string) => ({ status: 'failed', result: { authenticated: false, failure_reason: 'LIVENESS_FAILED', confidence: null }, liveness_result: { passed: false, failure_reason: reason } });
      const text = (r: unknown) => {
        const box = document.createElement('div');
        d.renderDecision(box, r, { technical: false });
        return box.innerText || box.textContent;
      };
      return { timeout: text(answer('CHALLENGE_TIMEOUT')), spoof: text(answer('SPOOF_DETECTED')), code: d.failureCode(answer('CHALLENGE_TIMEOUT')), unknown: d.failureCode(answer('SOMETHING_NEW')) };
    });
    assert.match(shown.timeout, /The time for the instruction ran out/);
    assert.doesNotMatch(shown.timeout, /live person/);
    assert.match(shown.spoof, /photo or a screen/);
    assert.equal(shown.code, 'CHALLENGE_TIMEOUT');
    assert.equal(shown.unknown, 'LIVENESS_FAILED', 'a reason the page has no words for keeps the general one');
    await p.context().close();
  });

  test('Indonesian from the browser language on every page, no string left in English; the switch is remembered', async () => {
    const context = await newContext(browser, { locale: 'id-ID' });
    const p = await page(context);
    await p.goto(`${base}/app/`);
    assert.equal(await p.evaluate(() => document.documentElement.lang), 'id');
    assert.equal(await p.locator('#lang-toggle').innerText(), 'English');
    await p.goto(`${base}/app/console/`);
    assert.equal(await p.locator('#client-signin h2').innerText(), 'Masuk sebagai klien');
    await signIn(p);
    for (const tab of ['dashboard', 'users', 'face', 'webhooks']) {
      await p.click(`nav.tabs button[data-tab=${tab}]`);
      await p.waitForLoadState('networkidle');
    }
    await p.click('nav.tabs button[data-tab=users]');
    await p.locator('#users-table tr[data-external-id=UX001] button').first().click();
    await p.locator('#enrollments-table tbody tr').first().waitFor();
    assert.match(await p.locator('#users-page').innerText(), /^Halaman 1 dari 1 · 1 pengguna$/);
    assert.deepEqual(await missing(p), [], 'console strings without Indonesian');
    await shot(p, 'console-users-id');
    // A bad request in Indonesian: plain words and the next step.
    await p.fill('#user-create input[name=external_id]', 'UX001');
    await p.fill('#user-create input[name=name]', 'Duplikat');
    await p.click('#user-create button[type=submit]');
    const alert = p.locator('#user-create .alert[data-code=USER_EXISTS]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Pengguna dengan ID ini sudah ada\./);
    // Camera page and its voice in Indonesian.
    await p.goto(`${base}/app/camera/?mode=verification&user_id=UX001`);
    await p.click('#voice-toggle');
    const spoken = await p.evaluate(() => (window as unknown as { __spoken: Array<{ text: string; lang: string }> }).__spoken);
    assert.equal(spoken.at(-1)?.text, 'Panduan suara aktif.');
    assert.equal(spoken.at(-1)?.lang, 'id-ID');
    assert.equal(await p.locator('#start').innerText(), 'Mulai');
    assert.deepEqual(await missing(p), [], 'camera strings without Indonesian');
    // Switch to English: reloads in English and stays so on the next page.
    await p.click('#lang-toggle');
    await p.waitForLoadState('load');
    await p.locator('#start', { hasText: 'Start' }).waitFor();
    assert.equal(await p.evaluate(() => localStorage.getItem('wajah.lang')), 'en');
    await p.goto(`${base}/app/console/`);
    assert.equal(await p.evaluate(() => document.documentElement.lang), 'en');
    assert.equal(await p.locator('nav.tabs button[data-tab=users]').innerText(), 'Users');
    await context.close();
  });

  test('every page fits 390 px in both languages: no horizontal scroll, every button on screen', async () => {
    for (const locale of ['en-US', 'id-ID']) {
      const context = await newContext(browser, { locale, width: 390 });
      const p = await page(context);
      const check = async (label: string) => {
        await p.waitForLoadState('networkidle');
        const r = await p.evaluate(() => ({
          width: document.documentElement.scrollWidth,
          off: Array.from(document.querySelectorAll('button, a.button, input, select, textarea'))
            .filter((e) => (e as HTMLElement).offsetParent !== null)
            .map((e) => ({ e, r: e.getBoundingClientRect() }))
            .filter(({ r }) => r.width > 0 && (r.left < 0 || r.right > 390))
            .map(({ e }) => e.outerHTML.slice(0, 80)),
        }));
        assert.ok(r.width <= 390, `${locale} ${label}: scrollWidth ${r.width}`);
        assert.deepEqual(r.off, [], `${locale} ${label}: controls off screen`);
      };
      await p.goto(`${base}/app/`);
      await check('start page');
      await p.goto(`${base}/app/console/`);
      await check('sign-in');
      await signIn(p);
      for (const tab of ['dashboard', 'users', 'face', 'webhooks']) {
        await p.click(`nav.tabs button[data-tab=${tab}]`);
        if (tab === 'users') {
          await p.locator('#users-table tr[data-external-id=UX001] button').first().click();
          await p.locator('#enrollments-table tbody tr').first().waitFor();
        }
        await check(tab);
        if (locale === 'id-ID' || tab !== 'face') await shot(p, `console-${tab}-390-${locale.slice(0, 2)}`);
      }
      await p.evaluate(() => sessionStorage.clear());
      await p.evaluate((token) => sessionStorage.setItem('wajah.adminToken', token), ADMIN_TOKEN);
      await p.goto(`${base}/app/console/`);
      await p.locator('#clients-table tbody tr', { hasText: 'UX Test' }).locator('button').click();
      await p.locator('#client-keys tbody tr').first().waitFor();
      await check('operator');
      await shot(p, `console-operator-390-${locale.slice(0, 2)}`);
      await signIn(p);
      await p.goto(`${base}/app/camera/`);
      await check('camera');
      await shot(p, `camera-390-${locale.slice(0, 2)}`);
      await context.close();
    }
  });

  test('camera: a liveness run counts down each challenge, keeps one steady instruction, never shows or says a code', async () => {
    const context = await newContext(browser);
    const p = await page(context);
    await signIn(p);
    await p.goto(`${base}/app/camera/?mode=identification`);
    await p.click('#voice-toggle');
    await p.check('#require-liveness');
    await p.evaluate(() => {
      const w = window as unknown as { __lines: Array<{ text: string; t: number }>; __chips: string[] };
      w.__lines = [];
      w.__chips = [];
      const g = document.querySelector('#guidance')!;
      new MutationObserver(() => w.__lines.push({ text: g.textContent ?? '', t: performance.now() })).observe(g, { childList: true, characterData: true, subtree: true });
      const s = document.querySelector('#suggestions')!;
      new MutationObserver(() => w.__chips.push(s.textContent ?? '')).observe(s, { childList: true, subtree: true });
    });
    await p.click('#start');
    // The countdown runs and goes down.
    await p.locator('#countdown', { hasText: /^\d+ seconds?$/ }).waitFor({ timeout: 30_000 });
    const first = Number((await p.locator('#countdown').innerText()).split(' ')[0]);
    const challenge = await p.locator('#challenge').innerText();
    await p.waitForTimeout(1300);
    const later = (await p.locator('#countdown').innerText()).split(' ')[0];
    // (When the fake camera met the challenge meanwhile, the next one starts its own count: nothing to compare.)
    if (/^\d+$/.test(later) && (await p.locator('#challenge').innerText()) === challenge) assert.ok(Number(later) < first || Number(later) === 0, `countdown ${first} → ${later}`);
    assert.equal(await p.locator('#challenge-time').isVisible(), true);
    await shot(p, 'camera-liveness-countdown');
    // Let the run go on (the fake camera blinks and talks) until it ends or for 8 s.
    await p.waitForFunction(() => document.querySelector('#start') && !(document.querySelector('#start') as HTMLButtonElement).disabled, undefined, { timeout: 8000 }).catch(() => {});
    await p.evaluate(() => (document.querySelector('#stop') as HTMLButtonElement).click()); // a no-op when the run already ended
    const seen = await p.evaluate(() => {
      const w = window as unknown as { __lines: Array<{ text: string; t: number }>; __chips: string[]; __spoken: Array<{ text: string }> };
      return { lines: w.__lines, chips: w.__chips, spoken: w.__spoken.map((s) => s.text), page: document.querySelector('main')!.textContent ?? '' };
    });
    for (const s of [...seen.lines.map((l) => l.text), ...seen.chips, ...seen.spoken]) assert.doesNotMatch(s, RAW_CODE, `raw code in "${s}"`);
    assert.doesNotMatch(seen.page.replace(/\s+/g, ' '), RAW_CODE);
    // No flicker: an instruction never comes back less than STABLE_MS after it was replaced.
    const lines = seen.lines.filter((l, i, a) => i === 0 || l.text !== a[i - 1].text);
    for (let i = 2; i < lines.length; i++) {
      if (lines[i].text === lines[i - 2].text) assert.ok(lines[i].t - lines[i - 1].t >= 1100, `flicker: ${JSON.stringify(lines.slice(i - 2, i + 1))}`);
    }
    await context.close();
  });

  test('camera: with no face in view the run stops after a while with help and "Try again"', async () => {
    const context = await newContext(noFaceBrowser);
    const p = await page(context);
    await signIn(p);
    await p.goto(`${base}/app/camera/?mode=identification`);
    await p.click('#start');
    const alert = p.locator('#camera-error[data-code=NO_FACE_TIMEOUT]');
    await alert.waitFor({ timeout: 30_000 });
    assert.match(await alert.innerText(), /No face was seen for a while/);
    assert.doesNotMatch(await alert.innerText(), /null|undefined|NO_FACE/);
    assert.match(await p.locator('#guidance').innerText(), /^No face was seen for a while/);
    assert.equal(await alert.locator('button.next-step').innerText(), 'Try again');
    assert.equal(await p.locator('#camera-off').isVisible(), true, 'camera released');
    const sent = await p.locator('#frames-sent').innerText();
    await p.waitForTimeout(800);
    assert.equal(await p.locator('#frames-sent').innerText(), sent, 'the loop stopped');
    await shot(p, 'camera-no-face-timeout');
    // Try again starts a new run.
    await alert.locator('button.next-step').click();
    await p.locator('#stop:enabled').waitFor();
    await p.click('#stop');
    await context.close();
  });

  test('camera: a refused camera permission is explained with how to allow it', async () => {
    const context = await newContext(deniedBrowser);
    const p = await page(context);
    await signIn(p);
    await p.goto(`${base}/app/camera/?mode=identification`);
    await p.click('#start');
    const alert = p.locator('#camera-error[data-code=CAMERA_DENIED]');
    await alert.waitFor({ timeout: 15_000 });
    assert.match(await alert.innerText(), /camera is blocked/i);
    assert.match(await alert.innerText(), /address bar/);
    assert.equal(await alert.locator('button.next-step').innerText(), 'Allow the camera');
    assert.doesNotMatch(await p.locator('#guidance').innerText(), /Starting the camera/);
    await shot(p, 'camera-permission-denied');
    await context.close();
  });

  test('dashboard: decisions, charts of the analytics series, and honest empty states', async () => {
    const context = await newContext(browser);
    const p = await page(context);
    await signIn(p, empty);
    await p.click('nav.tabs button[data-tab=dashboard]');
    await p.locator('#dash-empty').waitFor();
    assert.equal(await p.locator('[data-metric=successful_rate] .value').innerText(), '—', 'no "0 %" without data');
    for (const c of ['trend', 'reasons', 'liveness', 'latency']) assert.equal(await p.locator(`[data-chart=${c}] .empty`).isVisible(), true, `${c} says it is empty`);
    await shot(p, 'console-dashboard-empty');
    await signIn(p, tenant);
    await p.click('nav.tabs button[data-tab=dashboard]');
    await p.locator('[data-chart=trend] canvas').waitFor();
    await p.waitForFunction(() => (window as unknown as { Chart?: { getChart: (c: Element) => unknown } }).Chart?.getChart(document.querySelector('[data-chart=trend] canvas')!));
    const stats = (await inject('GET', '/api/analytics/statistics/?period=last_7_days', tenant)).json();
    const drawn = await p.evaluate(() => {
      const C = (window as unknown as { Chart: { getChart: (c: Element) => { data: { labels: string[]; datasets: Array<{ data: number[] }> } } } }).Chart;
      const get = (n: string) => C.getChart(document.querySelector(`[data-chart=${n}] canvas`)!)?.data;
      const sum = (a: number[]) => a.reduce((x, y) => x + (y ?? 0), 0);
      const trend = get('trend')!;
      const reasons = ((get('reasons')?.labels ?? []) as Array<string | string[]>).map((l) => (Array.isArray(l) ? l.join(' ') : l));
      return { successes: sum(trend.datasets[0].data), failures: sum(trend.datasets[1].data), reasons };
    });
    assert.equal(drawn.successes, stats.totals.successes);
    assert.equal(drawn.failures, stats.totals.failures);
    // Decisions, not frames: the three one-shot checks of before() plus at most one decision for each camera
    // run of the tests above (which sent dozens of frames, most without a decision).
    assert.ok(stats.totals.authentications >= 3 && stats.totals.authentications <= 6, `decisions: ${stats.totals.authentications}`);
    assert.equal(await p.locator('[data-metric=total_authentications] .value').innerText(), String(stats.totals.authentications));
    assert.ok(drawn.reasons.includes('No face can be seen.'), `reasons in words: ${JSON.stringify(drawn.reasons)}`);
    assert.equal(await p.locator('#dash-empty').isVisible(), false);
    await shot(p, 'console-dashboard');
    await context.close();
  });

  test('webhooks: a failed test is shown as a failure in words; a secret has a copy button and is gone when you move on', async () => {
    const context = await newContext(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const p = await page(context);
    await signIn(p);
    await p.click('nav.tabs button[data-tab=webhooks]');
    // Nothing listens on port 9 of this host: the connection is refused.
    await p.fill('#endpoint-create input[name=url]', 'http://127.0.0.1:9/hook');
    await p.click('#endpoint-create button[type=submit]');
    const secretBox = p.locator('#endpoint-secret');
    await secretBox.waitFor();
    const secret = await secretBox.locator('[data-field=secret]').innerText();
    assert.ok(secret.length >= 16);
    await secretBox.locator('button.copy').click();
    await secretBox.locator('.copy-status', { hasText: 'Copied.' }).waitFor();
    assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret);
    await p.locator('#endpoints-table tbody tr', { hasText: '127.0.0.1:9' }).locator('button', { hasText: 'Test' }).click();
    const failed = p.locator('#endpoints-test-failed[data-outcome=failed]');
    await failed.waitFor({ timeout: 20_000 });
    assert.match(await failed.innerText(), /The test delivery failed: the receiver refused the connection/);
    assert.equal(await p.locator('#endpoints-note').isVisible(), false, 'no success box');
    assert.equal(await failed.evaluate((e) => getComputedStyle(e).borderColor), await p.evaluate(() => getComputedStyle(document.querySelector('.alert')!).borderColor));
    await shot(p, 'console-webhook-test-failed');
    // Moving to another tab and back: the secret is gone from the page.
    await p.click('nav.tabs button[data-tab=users]');
    await p.click('nav.tabs button[data-tab=webhooks]');
    assert.equal(await p.locator('#endpoint-secret').isVisible(), false);
    assert.equal(await p.evaluate((s) => document.body.textContent!.includes(s), secret), false);
    await context.close();
  });
});
