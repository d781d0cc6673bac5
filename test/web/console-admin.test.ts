// Issue 12, the console screens for APIs that had none, in a real Chromium against a real app (real
// face engine): the audit log, SSO applications, the manual-review queue, PIN/password fallbacks on a
// user, and the operator's client editing and key rotation. Each screen also at 390 px in Indonesian.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { browserSkip, launchBrowser, requireBrowserFiles, signInConsole } from '../helpers/browser.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, type Tenant } from '../helpers/face-fixtures.ts';
import { testDataDir } from '../../src/config/env.ts';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const OBAMA3 = 'faces_extra/face_recognition/obama/obama_03.jpg';
const COFFEE = 'no_face/skimage_coffee.png';
const skip = browserSkip('console admin tests', [OBAMA, OBAMA2, OBAMA3, COFFEE].map((f) => path.join(testDataDir(), f)));
const shotDir = process.env.WAJAH_SHOTS ?? '/tmp';
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shotDir, `wajah-web-${name}.png`), fullPage: true });

describe('console screens for the APIs that had none (issue 12)', { skip }, () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let base: string;
  let tenant: Tenant;
  let empty: Tenant;
  let reviewId: string;

  const keys = (x: Tenant) => x.auth.replace(/^ApiKey /, '').split(':');
  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, x: Tenant | string, payload?: object) =>
    t().app.inject({
      method,
      url,
      headers: { authorization: typeof x === 'string' ? x : x.auth, ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { payload } : {}),
    });

  async function upload(url: string, fields: Record<string, string>, images: Array<{ field: string; file: string }>): Promise<Response> {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    for (const i of images) fd.append(i.field, new Blob([new Uint8Array(dataFile(i.file))], { type: i.file.endsWith('.png') ? 'image/png' : 'image/jpeg' }), path.basename(i.file));
    return fetch(`${base}${url}`, { method: 'POST', headers: { authorization: tenant.auth }, body: fd });
  }

  before(async () => {
    requireBrowserFiles([OBAMA, OBAMA2, OBAMA3, COFFEE].map((f) => path.join(testDataDir(), f)));
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'Admin Screens');
    empty = await createTenant(app, 'Quiet Tenant');
    await createUser(app, tenant, 'AD001', 'Barack Obama');
    await createUser(app, tenant, 'AD002', 'Review Person');
    // Audit material: an enrollment and a verification (authentication and enrollment entries).
    assert.equal((await upload('/api/auth/enrollment/direct/', { user_id: 'AD001', quality_threshold: '0.3' }, [{ field: 'image', file: OBAMA }])).status, 201);
    assert.equal((await upload('/api/auth/authentication/verify/', { user_id: 'AD001' }, [{ field: 'image', file: OBAMA2 }])).status, 200);
    // The review queue: one to approve (two usable photos and one without a face), one to reject.
    await createUser(app, tenant, 'AD003', 'Rejected Person');
    const r1 = await upload('/api/auth/enrollment/review/', { user_id: 'AD002', reason: 'Camera enrollment kept failing' }, [OBAMA2, OBAMA3, COFFEE].map((file) => ({ field: 'images', file })));
    assert.equal(r1.status, 201, await r1.clone().text());
    reviewId = ((await r1.json()) as { id: string }).id;
    assert.equal((await upload('/api/auth/enrollment/review/', { user_id: 'AD003', reason: 'No camera at the branch' }, [{ field: 'images', file: OBAMA3 }])).status, 201);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  async function newPage(opts: { locale?: string; width?: number } = {}): Promise<Page> {
    const context: BrowserContext = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: 844 }, locale: opts.locale ?? 'en-US' });
    const p = await context.newPage();
    p.on('dialog', (d) => void d.accept());
    p.on('pageerror', (e) => console.error('page error:', e.message));
    return p;
  }

  const signIn = (p: Page, x: Tenant = tenant) => signInConsole(p, base, x.auth);

  async function signInOperator(p: Page): Promise<void> {
    await p.goto(`${base}/app/console/`);
    await p.evaluate((token) => {
      sessionStorage.clear();
      sessionStorage.setItem('wajah.adminToken', token);
    }, ADMIN_TOKEN);
    await p.goto(`${base}/app/console/`);
    await p.locator('#operator-area').waitFor({ state: 'visible' });
  }

  const missing = (p: Page) => p.evaluate(() => [...((window as unknown as { __wajahI18nMissing: Set<string> }).__wajahI18nMissing ?? [])]);

  /** No horizontal scroll at 390 px and every visible control on screen. */
  async function fits(p: Page, label: string): Promise<void> {
    await p.waitForLoadState('networkidle');
    const r = await p.evaluate(() => ({
      width: document.documentElement.scrollWidth,
      off: Array.from(document.querySelectorAll('button, a.button, input, select, textarea'))
        .filter((e) => (e as HTMLElement).offsetParent !== null)
        .map((e) => ({ e, r: e.getBoundingClientRect() }))
        .filter(({ r }) => r.width > 0 && (r.left < 0 || r.right > 390))
        .map(({ e }) => e.outerHTML.slice(0, 80)),
    }));
    assert.ok(r.width <= 390, `${label}: scrollWidth ${r.width}`);
    assert.deepEqual(r.off, [], `${label}: controls off screen`);
  }

  test('audit log: the feed of the API, filtered by category and dates, paged, with an honest empty state', async () => {
    const p = await newPage();
    await signIn(p);
    await p.click('nav.tabs button[data-tab=audit]');
    await p.locator('#audit-table tbody tr').first().waitFor();
    // Only authentications (API-access entries grow with every request, these do not): the rows of the API.
    await p.selectOption('#audit-filter select[name=category]', 'authentication');
    await p.click('#audit-filter button[type=submit]');
    await p.locator('#audit-table tbody tr[data-action="authentication.success"]').first().waitFor();
    const api = (await inject('GET', '/api/analytics/audit-logs/?category=authentication&page_size=20', tenant)).json();
    assert.ok(api.count > 0);
    const rows = await p.locator('#audit-table tbody tr').evaluateAll((trs) => trs.map((r) => ({ category: (r as HTMLElement).dataset.category, action: (r as HTMLElement).dataset.action })));
    assert.deepEqual(rows, api.results.map((a: { category: string; action: string }) => ({ category: a.category, action: a.action })));
    assert.match(await p.locator('#audit-page').innerText(), new RegExp(`· ${api.count} entr`));
    assert.match(await p.locator('#audit-table tbody tr').first().innerText(), /Authentication[\s\S]*AD001/);
    await shot(p, 'console-audit');
    // A window with nothing in it says so, and the table is not shown.
    await p.fill('#audit-filter input[name=start_date]', '2020-01-01');
    await p.fill('#audit-filter input[name=end_date]', '2020-01-31');
    await p.click('#audit-filter button[type=submit]');
    await p.locator('#audit-empty').waitFor();
    assert.match(await p.locator('#audit-empty').innerText(), /No audit entries match/);
    assert.equal(await p.locator('#audit-table').isVisible(), false);
    // An end before the start is a bad request, said in words with the field.
    await p.fill('#audit-filter input[name=start_date]', '2020-02-01');
    await p.click('#audit-filter button[type=submit]');
    await p.locator('#audit-error[data-code=VALIDATION_ERROR]').waitFor();
    assert.match(await p.locator('#audit-error').innerText(), /end_date|start_date/);
    await p.context().close();
  });

  test('audit log without dates: page 2 continues page 1 (the feed grows with every request, the pages keep one window)', async () => {
    // More than a page of API-access entries; each audit-log request adds one more on top.
    for (let i = 0; i < 25; i++) assert.equal((await inject('GET', '/api/clients/users/', tenant)).statusCode, 200);
    const p = await newPage();
    await signIn(p);
    await p.click('nav.tabs button[data-tab=audit]');
    await p.locator('#audit-table tbody tr').first().waitFor();
    const ids = () => p.locator('#audit-table tbody tr').evaluateAll((trs) => trs.map((r) => (r as HTMLElement).dataset.id));
    const first = await ids();
    assert.equal(first.length, 20);
    await p.click('#audit-next');
    await p.locator('#audit-page', { hasText: /^Page 2 of/ }).waitFor();
    const second = await ids();
    assert.ok(second.length > 0);
    assert.deepEqual(second.filter((id) => first.includes(id)), [], 'no entry of page 1 again on page 2');
    await p.context().close();
  });

  test('SSO applications: register (secret shown once with Copy, gone when you move on), list, delete; empty state', async () => {
    const p = await newPage();
    await p.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await signIn(p, empty);
    await p.click('nav.tabs button[data-tab=sso]');
    await p.locator('#sso-empty').waitFor();
    assert.equal(await p.locator('#sso-table').isVisible(), false);
    await signIn(p);
    await p.click('nav.tabs button[data-tab=sso]');
    // A redirect URI that is not absolute is refused, in words.
    await p.fill('#sso-create input[name=name]', 'Intranet');
    await p.fill('#sso-create textarea[name=redirect_uris]', 'intranet/callback');
    await p.click('#sso-create button[type=submit]');
    await p.locator('#sso-create .alert[data-code]').waitFor();
    assert.ok((await p.locator('#sso-create .alert').innerText()).length > 20);
    await p.fill('#sso-create textarea[name=redirect_uris]', 'https://intranet.example.com/oidc/callback\nhttp://localhost:3000/cb');
    // Blink and smile alone are too weak for a sign-in: the server wants a head movement.
    await p.uncheck('#sso-challenges input[value=head_movement]');
    await p.check('#sso-challenges input[value=smile]');
    await p.click('#sso-create button[type=submit]');
    await p.locator('#sso-create .alert', { hasText: 'liveness_challenges' }).waitFor();
    await p.check('#sso-challenges input[value=turn_left]');
    await p.click('#sso-create button[type=submit]');
    const box = p.locator('#sso-secret');
    await box.locator('[data-field=client_secret]').waitFor();
    const clientId = await box.locator('[data-field=client_id]').innerText();
    const secret = await box.locator('[data-field=client_secret]').innerText();
    assert.match(clientId, /^wsso_/);
    assert.match(await box.locator('[data-field=issuer]').innerText(), /\/oidc$/);
    await box.locator('.secret-value', { has: p.locator('[data-field=client_secret]') }).locator('button.copy').click();
    await box.locator('.copy-status', { hasText: 'Copied.' }).waitFor();
    assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret);
    // The list shows what the API stored.
    const row = p.locator(`#sso-table tbody tr[data-client-id="${clientId}"]`);
    await row.waitFor();
    const stored = (await inject('GET', `/api/sso/clients/${clientId}/`, tenant)).json();
    assert.deepEqual(stored.redirect_uris, ['https://intranet.example.com/oidc/callback', 'http://localhost:3000/cb']);
    assert.deepEqual(stored.liveness_challenges, ['blink', 'turn_left', 'smile']);
    assert.match(await row.innerText(), /Intranet[\s\S]*Blink, Turn left, Smile · 3 attempts/);
    await shot(p, 'console-sso');
    // Another tab and back: the secret has left the page.
    await p.click('nav.tabs button[data-tab=users]');
    await p.click('nav.tabs button[data-tab=sso]');
    await row.waitFor();
    assert.equal(await box.isVisible(), false);
    assert.equal(await p.evaluate((s) => document.body.textContent!.includes(s), secret), false);
    // Delete: gone from the list and from the API.
    await row.locator('button.danger').click();
    await p.locator('#sso-note', { hasText: 'Deleted Intranet.' }).waitFor();
    // (The note comes first; the list is re-read from the server just after.)
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await row.count(), 0);
    assert.equal((await inject('GET', `/api/sso/clients/${clientId}/`, tenant)).statusCode, 404);
    await p.context().close();
  });

  test('manual reviews: the queue, a review with its photos (fetched with the auth header), approve and reject', async () => {
    const p = await newPage();
    await signIn(p, empty);
    await p.click('nav.tabs button[data-tab=reviews]');
    await p.locator('#reviews-empty', { hasText: 'No reviews are waiting for a decision.' }).waitFor();
    await signIn(p);
    await p.click('nav.tabs button[data-tab=reviews]');
    const row = p.locator(`#reviews-table tbody tr[data-review-id="${reviewId}"]`);
    await row.waitFor();
    assert.equal(await p.locator('#reviews-table tbody tr').count(), 2);
    assert.match(await row.innerText(), /Review Person[\s\S]*AD002[\s\S]*Camera enrollment kept failing[\s\S]*3[\s\S]*Waiting for a decision/);
    await row.locator('button', { hasText: 'Open' }).click();
    // Three photos, really decoded images from blob: URLs, with what the server found in them.
    await p.waitForFunction(() => document.querySelectorAll('#review-photos img').length === 3 && Array.from(document.querySelectorAll('#review-photos img')).every((i) => (i as HTMLImageElement).naturalWidth > 0));
    const imgs = await p.locator('#review-photos img').evaluateAll((is) => is.map((i) => ({ src: (i as HTMLImageElement).src, w: (i as HTMLImageElement).naturalWidth })));
    assert.ok(imgs.every((i) => i.src.startsWith('blob:')), JSON.stringify(imgs));
    assert.match(await p.locator('#review-photos figcaption').nth(0).innerText(), /Photo 1 · face found · quality \d+ %/);
    assert.match(await p.locator('#review-photos figcaption').nth(2).innerText(), /Photo 3 · no face found/);
    await shot(p, 'console-review');
    // Approve: two photos become the enrollment, the third is explained in words.
    await p.fill('#review-approve input[name=notes]', 'ID card checked');
    await p.click('#review-approve button[type=submit]');
    const result = p.locator('#review-result[data-outcome=enrolled]');
    await result.waitFor();
    assert.match(await result.innerText(), /Approved: enrolled from 2 of 3 photos\. Photo 3 not used: No face can be seen\./);
    assert.equal(await p.locator('#review-decide').isVisible(), false);
    assert.match(await p.locator('#review-photos').innerText(), /deleted with the decision/);
    const stored = (await inject('GET', `/api/reviews/${reviewId}/`, tenant)).json();
    assert.equal(stored.status, 'approved');
    assert.equal(stored.decision_notes, 'ID card checked');
    const enrolled = (await inject('GET', '/api/clients/users/?search=Review', tenant)).json();
    assert.equal(enrolled.results[0].enrollments_count, 1);
    // The queue now holds the other one; reject it with a reason.
    await p.locator('#reviews-table tbody tr').first().waitFor();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await row.count(), 0);
    const other = p.locator('#reviews-table tbody tr[data-user-id=AD003]');
    await other.locator('button').click();
    await p.locator('#review-photos img').first().waitFor();
    await p.click('#review-reject button[type=submit]');
    assert.equal(await p.locator('#review-result').isVisible(), false, 'a reason is required');
    await p.fill('#review-reject input[name=reason]', 'Photos do not match the ID card');
    await p.click('#review-reject button[type=submit]');
    await p.locator('#review-result[data-outcome=rejected]').waitFor();
    await p.locator('#reviews-empty', { hasText: 'No reviews are waiting' }).waitFor();
    // Both decided reviews under "All", with their outcome.
    await p.selectOption('#reviews-filter select[name=status]', '');
    await p.click('#reviews-filter button[type=submit]');
    await p.locator('#reviews-table tbody tr', { hasText: 'Rejected' }).waitFor();
    assert.match(await p.locator(`#reviews-table tbody tr[data-review-id="${reviewId}"]`).innerText(), /Approved/);
    await p.context().close();
  });

  test('PIN/password fallback on the user card: set (bad PIN refused in words), see a lock-out, unlock, remove', async () => {
    const p = await newPage();
    await signIn(p);
    await p.click('nav.tabs button[data-tab=users]');
    await p.locator('#users-table tr[data-external-id=AD001] button').first().click();
    const state = p.locator('#fallback-state');
    await p.locator('#fallback-state[data-state=none]').waitFor();
    assert.match(await state.innerText(), /No PIN or password is set/);
    assert.equal(await p.locator('#fallback-unlock').isVisible(), false);
    // Too short: refused by the server, said in words.
    await p.fill('#fallback-set input[name=secret]', '12');
    await p.click('#fallback-set button[type=submit]');
    await p.locator('#fallback .alert[data-code=VALIDATION_ERROR]').waitFor();
    await p.fill('#fallback-set input[name=secret]', '4821');
    await p.click('#fallback-set button[type=submit]');
    await p.locator('#fallback-state[data-state=set]').waitFor();
    assert.match(await state.innerText(), /A PIN is set\. Not used yet\./);
    assert.match(await p.locator('#fallback .note').innerText(), /PIN saved/);
    assert.equal(await p.locator('#fallback-set input[name=secret]').inputValue(), '', 'the PIN does not stay in the form');
    assert.equal(await p.locator('#fallback-set button[type=submit]').innerText(), 'Replace');
    assert.equal((await inject('POST', '/api/auth/authentication/fallback/', tenant, { user_id: 'AD001', pin: '4821' })).statusCode, 200);
    // Wrong PINs until the lock-out; reopening the user shows it.
    let status = 0;
    for (let i = 0; i < 6 && status !== 423; i++) status = (await inject('POST', '/api/auth/authentication/fallback/', tenant, { user_id: 'AD001', pin: '0000' })).statusCode;
    assert.equal(status, 423);
    await p.locator('#users-table tr[data-external-id=AD001] button').first().click();
    await p.locator('#fallback-state[data-state=locked]').waitFor();
    assert.match(await state.innerText(), /locked after too many wrong attempts, until/);
    await p.locator('#user-detail').screenshot({ path: path.join(shotDir, 'wajah-web-console-user-fallback-locked.png') });
    await p.click('#fallback-unlock');
    await p.locator('#fallback-state[data-state=set]').waitFor();
    assert.match(await p.locator('#fallback .note').innerText(), /Unlocked/);
    assert.match(await state.innerText(), /Last used/);
    const f = (await inject('GET', '/api/clients/users/AD001/fallback/', tenant)).json();
    assert.equal(f.locked, false);
    assert.equal(f.failed_attempts, 0);
    assert.equal((await inject('POST', '/api/auth/authentication/fallback/', tenant, { user_id: 'AD001', pin: '4821' })).statusCode, 200);
    // Replace with a password, then remove.
    await p.selectOption('#fallback-set select[name=type]', 'password');
    await p.fill('#fallback-set input[name=secret]', 'correct horse battery');
    await p.click('#fallback-set button[type=submit]');
    await p.locator('#fallback .note', { hasText: 'Password saved' }).waitFor();
    assert.match(await state.innerText(), /A password is set/);
    await p.click('#fallback-remove');
    await p.locator('#fallback-state[data-state=none]').waitFor();
    assert.equal((await inject('GET', '/api/clients/users/AD001/fallback/', tenant)).json().is_set, false);
    await p.context().close();
  });

  test('operator: edit a client (tier, limits, active) and rotate a key, the new secret shown once', async () => {
    const p = await newPage();
    await signInOperator(p);
    const row = p.locator('#clients-table tbody tr', { hasText: 'Quiet Tenant' });
    await row.locator('button', { hasText: 'Edit and keys' }).click();
    const form = p.locator('#client-edit');
    await p.locator('#client-keys tbody tr').first().waitFor();
    assert.equal(await form.locator('input[name=name]').inputValue(), 'Quiet Tenant');
    assert.equal(await form.locator('select[name=tier]').inputValue(), 'enterprise');
    assert.equal(await form.locator('input[name=is_active]').isChecked(), true);
    const clientId = await row.getAttribute('data-client-id');
    // Tier and limits.
    await form.locator('select[name=tier]').selectOption('premium');
    await form.locator('input[name=calls_per_hour]').fill('500');
    await form.locator('input[name=max_users]').fill('');
    await form.locator('button[type=submit]').click();
    await form.locator('.note', { hasText: 'Saved.' }).waitFor();
    let stored = (await inject('GET', `/api/admin/clients/${clientId}/`, `Bearer ${ADMIN_TOKEN}`)).json();
    assert.equal(stored.tier, 'premium');
    assert.equal(stored.calls_per_hour, 500);
    assert.equal(stored.max_users, null);
    await row.filter({ hasText: 'premium' }).locator('td', { hasText: '500 calls/h' }).waitFor();
    // Emptying a limit that is set puts the tier default back (null), never 0.
    await form.locator('input[name=calls_per_hour]').fill('');
    await form.locator('button[type=submit]').click();
    for (let i = 0; i < 50 && (await inject('GET', `/api/admin/clients/${clientId}/`, `Bearer ${ADMIN_TOKEN}`)).json().calls_per_hour !== null; i++) await p.waitForTimeout(100);
    stored = (await inject('GET', `/api/admin/clients/${clientId}/`, `Bearer ${ADMIN_TOKEN}`)).json();
    assert.equal(stored.calls_per_hour, null);
    assert.equal(stored.limits.calls_per_hour, 5000, 'the premium default is back');
    // Rotate the active key: the new pair is shown once, works at once, and the old key is expiring.
    const oldKey = keys(empty)[0];
    const keyRow = p.locator('#client-keys tbody tr', { hasText: oldKey });
    await keyRow.locator('button', { hasText: 'Rotate' }).click();
    const creds = p.locator(`#client-keys .credentials [data-replaces="${oldKey}"]`);
    await creds.waitFor();
    assert.match(await creds.locator('.rotated').innerText(), new RegExp(`replaces ${oldKey}, which keeps working until`));
    const newKey = await creds.locator('[data-field=api_key]').innerText();
    const newSecret = await creds.locator('[data-field=secret_key]').innerText();
    assert.notEqual(newKey, oldKey);
    await keyRow.locator('.badge', { hasText: 'expiring' }).waitFor();
    await p.locator('#client-keys tbody tr', { hasText: newKey }).locator('.badge', { hasText: 'active' }).waitFor();
    assert.equal((await inject('GET', '/api/clients/users/', `ApiKey ${newKey}:${newSecret}`)).statusCode, 200);
    assert.equal((await inject('GET', '/api/clients/users/', empty)).statusCode, 200, 'the old key works during the grace period');
    await shot(p, 'console-operator-edit-rotate');
    // Opening another client takes the new secret off the page.
    await p.locator('#clients-table tbody tr', { hasText: 'Admin Screens' }).locator('button').click();
    await p.locator('#client-keys-title', { hasText: 'Admin Screens' }).waitFor();
    assert.equal(await p.evaluate((x) => document.body.textContent!.includes(x), newSecret), false);
    await row.locator('button').click();
    await p.locator('#client-keys-title', { hasText: 'Quiet Tenant' }).waitFor();
    // Disable: asks first (accepted here), the client's keys stop working; enable again.
    await form.locator('input[name=is_active]').uncheck();
    await form.locator('button[type=submit]').click();
    await form.locator('.note', { hasText: 'The client is disabled' }).waitFor();
    await row.locator('.badge', { hasText: 'disabled' }).waitFor();
    assert.notEqual((await inject('GET', '/api/clients/users/', `ApiKey ${newKey}:${newSecret}`)).statusCode, 200);
    await form.locator('input[name=is_active]').check();
    await form.locator('button[type=submit]').click();
    await row.locator('.badge', { hasText: 'active' }).waitFor();
    stored = (await inject('GET', `/api/admin/clients/${clientId}/`, `Bearer ${ADMIN_TOKEN}`)).json();
    assert.equal(stored.is_active, true);
    assert.equal((await inject('GET', '/api/clients/users/', `ApiKey ${newKey}:${newSecret}`)).statusCode, 200);
    await p.context().close();
  });

  test('a hostile user name: markup stays text, and a right-to-left override in it cannot reorder the external id shown after it', async () => {
    // The tenant's backend registers what people type: a name with markup and an unclosed U+202E (RIGHT-TO-LEFT
    // OVERRIDE) made "Mallory (EMP0042)" read "Mallory (2400PME)" in the review queue and the review's title.
    const hostile = await createTenant(t().app, 'Hostile Names');
    const name = 'Mallory <img src=x onerror="window.__xss=1">\u202E';
    await createUser(t().app, hostile, 'EMP0042', name);
    const fd = new FormData();
    fd.append('user_id', 'EMP0042');
    fd.append('reason', 'No camera');
    fd.append('images', new Blob([new Uint8Array(dataFile(OBAMA3))], { type: 'image/jpeg' }), 'a.jpg');
    assert.equal((await fetch(`${base}/api/auth/enrollment/review/`, { method: 'POST', headers: { authorization: hostile.auth }, body: fd })).status, 201);
    const p = await newPage();
    await signIn(p, hostile);
    /** Whether the id's first character is drawn left of its last one (false: reversed; null: not found). */
    const readsForward = (sel: string) =>
      p.evaluate(
        ([s, id]) => {
          const w = document.createTreeWalker(document.querySelector(s)!, NodeFilter.SHOW_TEXT);
          for (let n = w.nextNode(); n; n = w.nextNode()) {
            const i = n.nodeValue!.indexOf(id);
            if (i < 0) continue;
            const left = (at: number) => {
              const r = document.createRange();
              r.setStart(n, at);
              r.setEnd(n, at + 1);
              return r.getBoundingClientRect().left;
            };
            return left(i) < left(i + id.length - 1);
          }
          return null;
        },
        [sel, 'EMP0042'],
      );
    await p.click('nav.tabs button[data-tab=reviews]');
    await p.locator('#reviews-table tbody tr[data-user-id=EMP0042]').waitFor();
    assert.equal(await readsForward('#reviews-table tbody tr[data-user-id=EMP0042] td:nth-child(2)'), true, 'queue row');
    await p.locator('#reviews-table tbody tr[data-user-id=EMP0042] button').click();
    await p.locator('#review-photos img').waitFor();
    assert.equal(await p.locator('#review-title').textContent(), `Review of ${name} (EMP0042)`);
    assert.equal(await readsForward('#review-title'), true, 'review title');
    await p.click('nav.tabs button[data-tab=users]');
    await p.locator('#users-table tr[data-external-id=EMP0042] button').first().click();
    await p.locator('#user-detail-title', { hasText: 'EMP0042' }).waitFor();
    assert.equal(await readsForward('#user-detail-title'), true, 'user card title');
    await shot(p, 'console-hostile-name');
    assert.equal(await p.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'the markup did not run');
    assert.equal(await p.locator('img[src=x]').count(), 0, 'the markup is not an element');
    await p.context().close();
  });

  test('every new screen at 390 px in Indonesian, no string left in English', async () => {
    const p = await newPage({ locale: 'id-ID', width: 390 });
    await signIn(p);
    await p.click('nav.tabs button[data-tab=audit]');
    await p.locator('#audit-table tbody tr').first().waitFor();
    await fits(p, 'audit');
    assert.equal(await p.locator('nav.tabs button[data-tab=audit]').innerText(), 'Log audit');
    await shot(p, 'console-audit-390-id');
    await inject('POST', '/api/sso/clients/', tenant, { name: 'Aplikasi Portal Karyawan', redirect_uris: ['https://portal.example.co.id/oidc/callback/very/long/path'] });
    await p.click('nav.tabs button[data-tab=sso]');
    await p.locator('#sso-table tbody tr').first().waitFor();
    await p.fill('#sso-create input[name=name]', 'Portal');
    await p.fill('#sso-create textarea[name=redirect_uris]', 'https://portal.example.co.id/cb');
    await p.click('#sso-create button[type=submit]');
    await p.locator('#sso-secret [data-field=client_secret]').waitFor();
    await fits(p, 'sso');
    await shot(p, 'console-sso-390-id');
    const r = await upload('/api/auth/enrollment/review/', { user_id: 'AD001', reason: 'Kamera cabang rusak' }, [OBAMA2, COFFEE].map((file) => ({ field: 'images', file })));
    assert.equal(r.status, 201);
    await p.click('nav.tabs button[data-tab=reviews]');
    await p.locator('#reviews-table tbody tr[data-user-id=AD001] button').click();
    await p.waitForFunction(() => document.querySelectorAll('#review-photos img').length === 2);
    await fits(p, 'reviews');
    await shot(p, 'console-review-390-id');
    await inject('PUT', '/api/clients/users/AD002/fallback/', tenant, { type: 'pin', secret: '583920' });
    await p.click('nav.tabs button[data-tab=users]');
    await p.locator('#users-table tr[data-external-id=AD002] button').first().click();
    await p.locator('#fallback-state[data-state=set]').waitFor();
    await fits(p, 'user fallback');
    await p.locator('#fallback').screenshot({ path: path.join(shotDir, 'wajah-web-console-user-fallback-390-id.png') });
    assert.deepEqual(await missing(p), [], 'client screens: strings without Indonesian');
    await signInOperator(p);
    await p.locator('#clients-table tbody tr', { hasText: 'Admin Screens' }).locator('button').click();
    await p.locator('#client-keys tbody tr').first().waitFor();
    await p.locator('#client-keys tbody tr').first().locator('button', { hasText: 'Ganti kunci' }).click();
    await p.locator('#client-keys .credentials [data-replaces]').waitFor();
    await fits(p, 'operator edit and rotate');
    await shot(p, 'console-operator-edit-390-id');
    assert.deepEqual(await missing(p), [], 'strings without Indonesian');
    await p.context().close();
  });
});
