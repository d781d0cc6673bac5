// The console and camera pages (feature C3) in a real Chromium with a fake camera that plays a real
// face video, against a real app (real face engine) on an ephemeral port.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { browserSkip, launchBrowser, requireBrowserFiles } from '../helpers/browser.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';

const PHOTO = path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_01.jpg');
const GROUP = path.join(testDataDir(), 'multi_face/fr_obama_and_biden.jpg');
const PHOTO2 = path.join(testDataDir(), 'faces_extra/face_recognition/obama/obama_02.jpg');
const OTHER = path.join(testDataDir(), 'faces_extra/face_recognition/biden/biden_01.jpg');
const skip = browserSkip('web tests', [PHOTO, GROUP, PHOTO2, OTHER]);

const shot = (page: Page, name: string) => page.screenshot({ path: `/tmp/wajah-web-${name}.png`, fullPage: true });

describe('web pages in a real browser', { skip }, () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let base: string;
  let apiKey: string;
  let secretKey: string;
  let auth: string;
  let hookServer: http.Server;
  let hookUrl: string;

  before(async () => {
    requireBrowserFiles([PHOTO]);
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const tenant = await createTenant(app, 'Web Test');
    auth = tenant.auth;
    [apiKey, secretKey] = tenant.auth.replace(/^ApiKey /, '').split(':');
    await createUser(t().app, tenant, 'CAM001', 'Camera Person');
    hookServer = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end('ok')));
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (hookServer ? hookServer.close(r) : r(null)));
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => {
      // Records what voice guidance says (headless Chromium has no audio output).
      const w = window as unknown as { __spoken: Array<{ text: string; t: number }> };
      w.__spoken = [];
      if (window.speechSynthesis) {
        window.speechSynthesis.speak = (u: SpeechSynthesisUtterance) => void w.__spoken.push({ text: u.text, t: Date.now() });
        window.speechSynthesis.cancel = () => {};
      }
    });
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    page.on('pageerror', (e) => console.error('page error:', e.message));
    // What the Content-Security-Policy blocked (src/api/security-headers.ts): the pages must need nothing it forbids.
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && cspViolations.push(`${page.url()}: ${m.text()}`)));
    return page;
  }
  const cspViolations: string[] = [];

  async function signIn(page: Page, secret = secretKey): Promise<void> {
    await page.goto(`${base}/app/console/`);
    await page.fill('#signin-key', apiKey);
    await page.fill('#signin-secret', secret);
    await page.click('#client-signin button[type=submit]');
  }

  const apiGet = (url: string) => t().app.inject({ method: 'GET', url, headers: { authorization: auth } }).then((r) => r.json());

  test('/ redirects to /app/, which links both pages', async () => {
    const page = await newPage();
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, '/app/');
    assert.equal(await page.locator('a[href="/app/console/"]').count(), 1);
    assert.equal(await page.locator('a[href="/app/camera/"]').count(), 1);
    await page.context().close();
  });

  test('a wrong secret shows INVALID_CREDENTIALS and stays signed out', async () => {
    const page = await newPage();
    await signIn(page, 'wsk_wrong');
    const err = page.locator('#client-signin-error');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.innerText(), /INVALID_CREDENTIALS/);
    assert.equal(await page.locator('#client-area').isVisible(), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('wajah.credentials')), null);
    await shot(page, 'console-bad-key');
    await page.context().close();
  });

  test('console: sign in, create a user, enroll a photo, the list shows 1 enrollment', async () => {
    const page = await newPage();
    await signIn(page);
    await page.locator('#client-area').waitFor({ state: 'visible' });
    await page.click('nav.tabs button[data-tab=users]');
    const create = page.locator('#user-create');
    await create.locator('input[name=external_id]').fill('WEB001');
    await create.locator('input[name=name]').fill('Barack Obama');
    await create.locator('input[name=email]').fill('barack@example.com');
    await create.locator('textarea[name=metadata]').fill('{"department": "IT"}');
    await create.locator('button[type=submit]').click();
    const row = page.locator('#users-table tbody tr[data-external-id="WEB001"]');
    await row.waitFor();
    assert.equal(await row.locator('.enrollments-count').innerText(), '0');
    // Creating selects the user: upload a real photo through the direct-enrollment form.
    await page.locator('#user-detail').waitFor({ state: 'visible' });
    await page.setInputFiles('#direct-enroll input[name=image]', PHOTO);
    await page.fill('#direct-enroll input[name=quality_threshold]', '0.3');
    await page.click('#direct-enroll button[type=submit]');
    await page.locator('#direct-enroll .note', { hasText: 'Enrolled' }).waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#users-table tr[data-external-id="WEB001"] .enrollments-count')?.textContent === '1');
    assert.equal(await page.locator('#enrollments-table tbody tr').count(), 1);
    const server = await apiGet('/api/auth/enrollments/?user_id=WEB001');
    assert.equal(server.count, 1);
    // Search by name finds the user; a non-matching search shows none.
    await page.fill('#user-search-text', 'obama');
    await page.click('#user-search button[type=submit]');
    await page.locator('#users-page', { hasText: '1 user' }).waitFor();
    await shot(page, 'console-users');
    await page.fill('#user-search-text', 'nobody-here');
    await page.click('#user-search button[type=submit]');
    await page.locator('#users-page', { hasText: '0 users' }).waitFor();
    await page.context().close();
  });

  test('console: edit, deactivate and activate a user; a server error shows its code', async () => {
    const page = await newPage();
    await signIn(page);
    await page.click('nav.tabs button[data-tab=users]');
    await page.locator('#users-table tr[data-external-id="WEB001"] button', { hasText: 'Open' }).click();
    await page.fill('#user-edit input[name=name]', 'Barack H. Obama');
    await page.click('#user-edit button[type=submit]');
    await page.locator('#user-edit .note', { hasText: 'Saved' }).waitFor();
    assert.equal((await apiGet('/api/clients/users/WEB001/')).name, 'Barack H. Obama');
    await page.click('#user-toggle-active');
    await page.locator('#user-edit .note', { hasText: 'Deactivated' }).waitFor();
    assert.equal((await apiGet('/api/clients/users/WEB001/')).is_active, false);
    await page.click('#user-toggle-active');
    await page.locator('#user-edit .note', { hasText: /^Activated\.$/ }).waitFor();
    assert.equal((await apiGet('/api/clients/users/WEB001/')).is_active, true);
    // Renaming to an external id that exists is USER_EXISTS, shown with the server's code.
    await page.fill('#user-edit input[name=external_id]', 'CAM001');
    await page.click('#user-edit button[type=submit]');
    await page.locator('#user-edit .alert', { hasText: 'USER_EXISTS' }).waitFor();
    await page.context().close();
  });

  test('camera: enrollment of the fake-camera face completes with an enrollment id; guidance is announced and spoken', async () => {
    const page = await newPage();
    await signIn(page);
    await page.locator('#client-area').waitFor({ state: 'visible' });
    await page.goto(`${base}/app/camera/?mode=enrollment&user_id=CAM001`);
    assert.equal(await page.locator('#credentials-form').isVisible(), false, 'credentials come from the console (sessionStorage)');
    assert.equal(await page.locator('#guidance').getAttribute('aria-live'), 'polite');
    await page.click('#voice-toggle');
    assert.equal(await page.locator('#voice-toggle').getAttribute('aria-pressed'), 'true');
    // Record every text the aria-live region receives.
    await page.evaluate(() => {
      const w = window as unknown as { __guidance: string[] };
      w.__guidance = [];
      const g = document.querySelector('#guidance')!;
      new MutationObserver(() => w.__guidance.push(g.textContent ?? '')).observe(g, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#start');
    await page.locator('#enrollment-id').waitFor({ timeout: 90_000 });
    const enrollmentId = (await page.locator('#enrollment-id').innerText()).trim();
    assert.match(enrollmentId, /^[0-9a-f-]{36}$/);
    await shot(page, 'camera-enrolled');
    const server = await apiGet('/api/auth/enrollments/?user_id=CAM001');
    assert.deepEqual(server.enrollments.map((e: { enrollment_id: string }) => e.enrollment_id), [enrollmentId]);
    // Progress reached its requirement.
    const bar = await page.locator('#enroll-progress').evaluate((p: HTMLProgressElement) => [p.value, p.max]);
    assert.equal(bar[0], bar[1]);
    // The aria-live region carried the server's guidance, not only the page's own words.
    const own = new Set(['Ready.', 'Starting the camera…', 'Look at the camera and keep your face inside the oval.', 'Saving your enrollment…', 'Enrollment complete. Thank you.']);
    const heard = await page.evaluate(() => (window as unknown as { __guidance: string[] }).__guidance);
    assert.ok(heard.some((s) => s && !own.has(s)), `server guidance in the live region: ${JSON.stringify(heard)}`);
    assert.equal(heard.at(-1), 'Enrollment complete. Thank you.');
    // Voice: spoke the result, and never the same sentence twice within a few seconds.
    const spoken = await page.evaluate(() => (window as unknown as { __spoken: Array<{ text: string; t: number }> }).__spoken);
    assert.ok(spoken.some((s) => s.text === 'Enrollment complete. Thank you.'), JSON.stringify(spoken));
    for (let i = 0; i < spoken.length; i++)
      for (let j = i + 1; j < spoken.length; j++) if (spoken[i].text === spoken[j].text) assert.ok(spoken[j].t - spoken[i].t >= 5000, `"${spoken[i].text}" repeated too soon`);
    await page.context().close();
  });

  test('camera: verification of the enrolled user reports authenticated', async () => {
    const page = await newPage();
    await signIn(page);
    await page.locator('#client-area').waitFor({ state: 'visible' });
    await page.goto(`${base}/app/camera/?mode=verification&user_id=CAM001`);
    assert.equal(await page.locator('#multi-angle').isVisible(), false, 'enrollment-only option hidden');
    await page.click('#start');
    const result = page.locator('#result .result');
    await result.waitFor({ timeout: 60_000 });
    assert.equal(await result.getAttribute('data-status'), 'completed');
    assert.equal(await result.locator('.headline').innerText(), 'Authenticated');
    assert.equal(await page.locator('#guidance').innerText(), 'Welcome, Camera Person. You are verified.');
    await shot(page, 'camera-verified');
    assert.ok((await apiGet('/api/clients/users/CAM001/')).last_authentication, 'the server recorded the success');
    await page.context().close();
  });

  test('camera: a liveness session shows the challenge while frames flow; Escape stops it and closes the camera', async () => {
    const page = await newPage();
    await signIn(page);
    await page.locator('#client-area').waitFor({ state: 'visible' });
    await page.goto(`${base}/app/camera/?mode=identification`);
    assert.equal(await page.locator('#user-id').isVisible(), false, 'identification needs no user');
    await page.check('#require-liveness');
    await page.click('#start');
    await page.waitForFunction(() => Number(document.querySelector('#frames-sent')?.textContent?.split(' ')[0]) >= 3, undefined, { timeout: 30_000 });
    assert.match(await page.locator('#challenge').innerText(), /^(Blink|Turn your head|Nod|Smile|Turn to your left|Turn to your right|Done)$/);
    assert.equal(await page.locator('#start').isDisabled(), true, 'one run at a time');
    assert.ok(await page.locator('#video').evaluate((v: HTMLVideoElement) => v.videoWidth > 0), 'the fake camera plays');
    await shot(page, 'camera-running');
    await page.keyboard.press('Escape');
    await page.locator('#guidance', { hasText: 'Stopped.' }).waitFor();
    assert.equal(await page.locator('#start').isDisabled(), false);
    assert.equal(await page.locator('#camera-off').isVisible(), true);
    const sent = await page.locator('#frames-sent').innerText();
    await page.waitForTimeout(600);
    assert.equal(await page.locator('#frames-sent').innerText(), sent, 'no frame after Stop');
    await page.context().close();
  });

  test('camera: without credentials the page asks for them; a bad key is explained in words (the code only in data-code)', async () => {
    const page = await newPage();
    await page.goto(`${base}/app/camera/`);
    const form = page.locator('#credentials-form');
    await form.waitFor({ state: 'visible' });
    await form.locator('input[name=api_key]').fill(apiKey);
    await form.locator('input[name=secret_key]').fill('wsk_wrong');
    await form.locator('button').click();
    await form.locator('.alert[data-code=INVALID_CREDENTIALS]', { hasText: 'The API key or secret is not right.' }).waitFor();
    assert.doesNotMatch(await form.locator('.alert').innerText(), /INVALID_CREDENTIALS/);
    await form.locator('input[name=secret_key]').fill(secretKey);
    await form.locator('button').click();
    await form.waitFor({ state: 'hidden' });
    await page.context().close();
  });

  test('console: the dashboard counts the authentications', async () => {
    const page = await newPage();
    await signIn(page);
    await page.click('nav.tabs button[data-tab=dashboard]');
    const total = page.locator('[data-metric=total_authentications] .value');
    await total.waitFor();
    assert.ok(Number(await total.innerText()) >= 1);
    await shot(page, 'console-dashboard');
    await page.context().close();
  });

  test('console: one-shot verify and identify with a photo', async () => {
    const page = await newPage();
    await signIn(page);
    await page.click('nav.tabs button[data-tab=face]');
    await page.fill('#verify-form input[name=user_id]', 'WEB001');
    await page.setInputFiles('#verify-form input[name=image]', PHOTO);
    await page.click('#verify-form button[type=submit]');
    await page.locator('#verify-form .result .headline', { hasText: 'Authenticated' }).waitFor({ timeout: 30_000 });
    // The photo is shown with the face the decision was taken on drawn over it, inside the picture.
    const drawn = page.locator('#verify-form figure.face-photo');
    await drawn.waitFor();
    assert.equal(await drawn.locator('.face-box').count(), 1);
    const fit = await drawn.evaluate((fig) => {
      const img = fig.querySelector('img')!.getBoundingClientRect();
      const box = fig.querySelector('.face-box')!.getBoundingClientRect();
      return { inside: box.left >= img.left - 1 && box.right <= img.right + 1 && box.top >= img.top - 1 && box.bottom <= img.bottom + 1, area: (box.width * box.height) / (img.width * img.height) };
    });
    assert.ok(fit.inside && fit.area > 0.02 && fit.area < 0.9, JSON.stringify(fit));
    await page.setInputFiles('#identify-form input[name=image]', PHOTO);
    await page.click('#identify-form button[type=submit]');
    await page.locator('#identify-form .matches li', { hasText: 'WEB001' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#identify-form figure.face-photo .face-box').count(), 1);
    // Compare two photos: the same person, then two people; both photos drawn with their face.
    await page.setInputFiles('#compare-form input[name=image_a]', PHOTO);
    await page.setInputFiles('#compare-form input[name=image_b]', PHOTO2);
    await page.click('#compare-form button[type=submit]');
    await page.locator('#compare-form .result[data-same="true"] .headline', { hasText: 'Same person' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#compare-form figure.face-photo .face-box').count(), 2);
    await shot(page, 'console-face');
    await page.setInputFiles('#compare-form input[name=image_b]', OTHER);
    await page.click('#compare-form button[type=submit]');
    await page.locator('#compare-form .result[data-same="false"] .headline', { hasText: 'Different people' }).waitFor({ timeout: 30_000 });
    await page.context().close();
  });

  test('console: a group photo shows every face numbered; the operator picks one and sees which face was enrolled', async () => {
    const page = await newPage();
    await signIn(page);
    await page.click('nav.tabs button[data-tab=users]');
    const create = page.locator('#user-create');
    await create.locator('input[name=external_id]').fill('GROUP1');
    await create.locator('input[name=name]').fill('Group Photo');
    await create.locator('button[type=submit]').click();
    await page.locator('#user-detail').waitFor({ state: 'visible' });
    await page.setInputFiles('#direct-enroll input[name=image]', GROUP);
    await page.fill('#direct-enroll input[name=quality_threshold]', '0.3');
    await page.click('#direct-enroll button[type=submit]');
    const figure = page.locator('#direct-enroll figure.face-photo');
    await figure.waitFor({ timeout: 30_000 });
    const faces = await figure.locator('.face-box').count();
    assert.ok(faces >= 2, `${faces} faces drawn`);
    assert.equal(await figure.locator('.face-label').count(), faces);
    const choice = page.locator('#direct-enroll select[name=face_index]');
    await choice.waitFor({ state: 'visible' });
    assert.equal(await choice.locator('option').count(), faces + 1);
    await shot(page, 'console-group-photo');
    await choice.selectOption('1');
    await page.click('#direct-enroll button[type=submit]');
    await page.locator('#direct-enroll .note', { hasText: 'Enrolled' }).waitFor({ timeout: 30_000 });
    // One face drawn now: the chosen one, where face 1 was.
    const after = page.locator('#direct-enroll figure.face-photo .face-box');
    assert.equal(await after.count(), 1);
    assert.ok(await page.locator('#direct-enroll .face-choice').isHidden());
    await page.context().close();
  });

  test('console: webhook endpoints (create, test, logs, delete)', async () => {
    const page = await newPage();
    await signIn(page);
    await page.click('nav.tabs button[data-tab=webhooks]');
    await page.fill('#endpoint-create input[name=url]', hookUrl);
    await page.click('#endpoint-create button[type=submit]');
    await page.locator('#endpoint-create .note', { hasText: 'Signing secret' }).waitFor();
    const row = page.locator('#endpoints-table tbody tr', { hasText: hookUrl });
    await row.waitFor();
    await row.locator('button', { hasText: 'Test' }).click();
    await page.locator('#endpoints-note', { hasText: 'delivered (HTTP 200)' }).waitFor({ timeout: 20_000 });
    await page.locator('#logs-table tbody tr', { hasText: 'webhook.test' }).first().waitFor();
    await shot(page, 'console-webhooks');
    await row.locator('button', { hasText: 'Delete' }).click();
    await page.locator('#endpoints-table tbody', { hasText: 'No webhook endpoints.' }).waitFor();
    assert.equal((await apiGet('/api/webhooks/endpoints/')).count, 0);
    await page.context().close();
  });

  test('operator mode: list clients, create one, issue and revoke a key', async () => {
    const page = await newPage();
    await page.goto(`${base}/app/console/`);
    await page.fill('#admin-token', ADMIN_TOKEN);
    await page.click('#admin-signin button[type=submit]');
    await page.locator('#clients-table tbody tr', { hasText: 'Web Test' }).waitFor();
    await page.fill('#client-create input[name=name]', 'Created In Browser');
    await page.selectOption('#client-create select[name=tier]', 'premium');
    await page.click('#client-create button[type=submit]');
    const apiKeyText = await page.locator('#client-create [data-field=api_key]').innerText();
    assert.match(apiKeyText, /^wk_/);
    const row = page.locator('#clients-table tbody tr', { hasText: 'Created In Browser' });
    await row.waitFor();
    await row.locator('button', { hasText: 'Keys' }).click();
    await page.locator('#client-keys tbody tr', { hasText: apiKeyText }).waitFor();
    await page.fill('#key-create input[name=name]', 'second');
    await page.click('#key-create button[type=submit]');
    await page.locator('#client-keys tbody tr', { hasText: 'second' }).waitFor();
    const first = page.locator('#client-keys tbody tr', { hasText: apiKeyText });
    await first.locator('button', { hasText: 'Revoke' }).click();
    await first.locator('.badge', { hasText: 'revoked' }).waitFor();
    await shot(page, 'console-operator');
    await page.context().close();
  });

  test('high contrast changes computed colours and persists; reduced motion stops the animation; focus is visible', async () => {
    const page = await newPage();
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto(`${base}/app/camera/`);
    const colours = () => page.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]);
    const before = await colours();
    await page.click('#contrast-toggle');
    assert.equal(await page.locator('#contrast-toggle').getAttribute('aria-pressed'), 'true');
    const after = await colours();
    assert.notDeepEqual(after, before);
    assert.deepEqual(after, ['rgb(0, 0, 0)', 'rgb(255, 255, 255)']);
    await shot(page, 'camera-high-contrast');
    await page.goto(`${base}/app/console/`);
    assert.deepEqual(await colours(), after, 'persisted across pages (localStorage)');
    await page.click('#contrast-toggle');
    assert.deepEqual(await colours(), before);
    // Reduced motion: the preview's pulsing guide does not animate.
    await page.goto(`${base}/app/camera/`);
    const anim = await page.evaluate(() => {
      document.querySelector('#preview')!.classList.add('running');
      return getComputedStyle(document.querySelector('#preview .oval')!).animationName;
    });
    assert.equal(anim, 'none');
    // Keyboard: Tab reaches Start, and the focused control draws an outline.
    let focused = '';
    for (let i = 0; i < 30 && focused !== 'start'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.id ?? '');
    }
    assert.equal(focused, 'start');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle + ' ' + getComputedStyle(document.activeElement!).outlineWidth);
    assert.equal(outline, 'solid 3px');
    await page.context().close();
  });

  test('every page works under its Content-Security-Policy: nothing above was blocked, and the API docs render', async () => {
    const page = await newPage();
    await page.goto(`${base}/api/docs/`);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
    assert.match(await page.textContent('.swagger-ui .info .title') ?? '', /Wajah API/);
    await shot(page, 'api-docs');
    await page.context().close();
    assert.deepEqual(cspViolations, []);
  });
});
