// The console on a laptop (1280×800) with the longest values the API accepts and no space in them: a
// 255-character name, external id and e-mail, a 200-character client and key name, a 2,000-character webhook
// URL, redirect URI and review reason, a long receiver error and audit details. Such a name used to widen the
// users table (and the page) past the screen. Every table must fit the page and its own box, with each long
// value's whole text still there (in the cell and in its title).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN, useTestApp } from '../helpers/app.ts';
import { browserSkip, launchBrowser, requireBrowserFiles, signInConsole } from '../helpers/browser.ts';
import { adminHeaders, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';
import type { ReviewTables } from '../../src/db/repositories/reviews.repository.ts';

const skip = browserSkip('console long-text tests');
const shotDir = path.resolve(import.meta.dirname, '../../.tmp/scratch/console');

/** `n` characters of `word` repeated, no space anywhere. */
const unbroken = (word: string, n: number) => word.repeat(Math.ceil(n / word.length)).slice(0, n);
const NAME = unbroken('Wolfeschlegelsteinhausenbergerdorff', 255);
const EXTERNAL_ID = unbroken('EMP0123456789', 255);
const EMAIL = `${unbroken('firstnamelastname', 64)}@${unbroken('department', 63)}.${unbroken('headquarters', 63)}.example.com`;
const CLIENT_NAME = unbroken('PerusahaanDaerahAirMinum', 200);
const KEY_NAME = unbroken('integrationkey', 200);
const HOOK_URL = `http://127.0.0.1:9/${unbroken('receiverpath', 2000)}`;
const REDIRECT_URI = `https://intranet.example.com/${unbroken('callbackpath', 1900)}`;
const REASON = unbroken('CameraKeptFailing', 2000);
const RECEIVER_ERROR = `HTTP 500: ${unbroken('InternalServerErrorStackTrace', 900)}`;
const DETAIL = unbroken('exportreference', 600);

describe('console tables with long unbroken text fit a 1280×800 screen', { skip }, () => {
  const t = useTestApp(quickBackend(), { env: { WAJAH_WEBHOOKS: '0' } });
  let browser: Browser;
  let base: string;
  let tenant: TestClient;

  const db = () => t().container.database.db;
  const inject = (method: 'GET' | 'POST', url: string, auth: string, payload?: object) =>
    t().app.inject({ method, url, headers: { authorization: auth, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload } : {}) });

  before(async () => {
    requireBrowserFiles();
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createClient(app, { name: CLIENT_NAME, tier: 'enterprise' });
    const key = await inject('POST', `/api/admin/clients/${tenant.client_id}/keys/`, adminHeaders.authorization, { name: KEY_NAME });
    assert.equal(key.statusCode, 201, key.body);
    const user = await inject('POST', '/api/clients/users/', tenant.auth, { external_id: EXTERNAL_ID, name: NAME, email: EMAIL, metadata: { note: DETAIL } });
    assert.equal(user.statusCode, 201, user.body);
    const userId = user.json().id as string;
    const hook = await inject('POST', '/api/webhooks/endpoints/', tenant.auth, { url: HOOK_URL, events: ['user.created'] });
    assert.equal(hook.statusCode, 201, hook.body);
    const sso = await inject('POST', '/api/sso/clients/', tenant.auth, { name: CLIENT_NAME, redirect_uris: [REDIRECT_URI, 'http://localhost:3000/cb'], liveness_challenges: ['blink', 'turn_left'] });
    assert.equal(sso.statusCode, 201, sso.body);
    // What the API cannot produce on demand without a receiver or photos: a delivery the receiver answered
    // with a long error, a review with a long reason, and an audit entry with long details.
    await db()
      .insertInto('webhook_deliveries')
      .values({
        id: crypto.randomUUID(),
        client_id: tenant.client_id,
        endpoint_id: hook.json().id,
        event_id: crypto.randomUUID(),
        event_type: 'user.created',
        status: 'failed',
        attempts: 4,
        last_status_code: 500,
        last_error: RECEIVER_ERROR,
      })
      .execute();
    await db()
      .withTables<ReviewTables>()
      .insertInto('review_requests')
      .values({ id: crypto.randomUUID(), client_id: tenant.client_id, user_id: userId, reason: REASON, quality_threshold: 0.5, photo_count: 0 })
      .execute();
    await db()
      .insertInto('audit_logs')
      .values({
        id: crypto.randomUUID(),
        client_id: tenant.client_id,
        category: 'data_access',
        action: 'user.exported',
        actor: 'admin',
        target: EXTERNAL_ID,
        details: JSON.stringify({ reference: DETAIL }),
        ip: '10.0.0.9',
      })
      .execute();
    fs.mkdirSync(shotDir, { recursive: true });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const p = await context.newPage();
    p.on('pageerror', (e) => console.error('page error:', e.message));
    return p;
  }

  /**
   * The page is no wider than the screen, no table is wider than its box (no sideways scrolling inside
   * either), and each of `values` is in a table whole: a cell's text, and the title of its element.
   * What is wrong goes to `problems` (every screen is checked, then the test says all that failed).
   */
  async function fits(p: Page, label: string, values: string[], problems: string[]): Promise<void> {
    await p.waitForLoadState('networkidle');
    const r = await p.evaluate((vals) => {
      const wraps = Array.from(document.querySelectorAll('.table-wrap')).filter((w) => (w as HTMLElement).offsetParent !== null);
      const cells = wraps.flatMap((w) => Array.from(w.querySelectorAll('td *, td')));
      return {
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        wide: wraps.filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => `${w.querySelector('table')?.id || w.querySelector('caption')?.textContent}: ${w.scrollWidth} > ${w.clientWidth}`),
        missing: vals.filter((v) => !cells.some((c) => c.textContent === v && c.closest('[title]')?.getAttribute('title') === v)).map((v) => v.slice(0, 30)),
      };
    }, values);
    await p.screenshot({ path: path.join(shotDir, `long-text-${label}.png`), fullPage: true });
    if (r.page > r.viewport) problems.push(`${label}: the page is ${r.page} px wide on a ${r.viewport} px screen`);
    problems.push(...r.wide.map((w) => `${label}: a table wider than its box, ${w}`));
    problems.push(...r.missing.map((v) => `${label}: not shown whole (text and title): ${v}…`));
  }

  async function tab(p: Page, name: string, row: string): Promise<void> {
    await p.click(`nav.tabs button[data-tab=${name}]`);
    await p.locator(row).first().waitFor();
  }

  test('users, webhooks, reviews, SSO and audit tabs', async () => {
    const problems: string[] = [];
    const p = await newPage();
    await signInConsole(p, base, tenant.auth);
    await tab(p, 'users', '#users-table tbody tr[data-external-id]');
    await fits(p, 'users', [EXTERNAL_ID, NAME, EMAIL], problems);
    // The open user: its card's title and the enrollments table beside the form.
    await p.locator('#users-table tbody tr[data-external-id] button', { hasText: 'Open' }).click();
    await p.locator('#user-detail').waitFor();
    await fits(p, 'user-open', [], problems);
    await tab(p, 'webhooks', '#logs-table tbody tr td.actions button');
    await fits(p, 'webhooks', [HOOK_URL, RECEIVER_ERROR], problems);
    await tab(p, 'reviews', '#reviews-table tbody tr[data-review-id]');
    await fits(p, 'reviews', [REASON], problems);
    await p.locator('#reviews-table tbody tr[data-review-id] button').click();
    await p.locator('#review-detail').waitFor();
    await fits(p, 'review-open', [], problems);
    await tab(p, 'sso', '#sso-table tbody tr[data-client-id]');
    await fits(p, 'sso', [CLIENT_NAME, REDIRECT_URI], problems);
    await tab(p, 'audit', '#audit-table tbody tr[data-action="user.exported"]');
    await fits(p, 'audit', [EXTERNAL_ID], problems);
    assert.match(await p.locator('#audit-table tbody tr[data-action="user.exported"]').innerText(), new RegExp(DETAIL.slice(0, 40)));
    // A click on a cut value shows all of it.
    const cell = p.locator('#audit-table tbody tr[data-action="user.exported"] td:last-child .clip');
    if ((await cell.count()) !== 1) problems.push('audit: the details are not a cut value that opens');
    else {
      const closed = (await cell.boundingBox())!.height;
      await cell.click();
      if ((await cell.boundingBox())!.height <= closed * 2) problems.push('audit: a click did not open the details');
    }
    await fits(p, 'audit-open', [], problems);
    await p.context().close();
    assert.deepEqual(problems, []);
  });

  test('operator: clients and keys', async () => {
    const p = await newPage();
    const problems: string[] = [];
    await p.goto(`${base}/app/console/`);
    await p.evaluate((token) => sessionStorage.setItem('wajah.adminToken', token), ADMIN_TOKEN);
    await p.goto(`${base}/app/console/`);
    await p.locator(`#clients-table tbody tr[data-client-id="${tenant.client_id}"]`).waitFor();
    await fits(p, 'operator', [CLIENT_NAME], problems);
    await p.locator(`#clients-table tbody tr[data-client-id="${tenant.client_id}"] button`).click();
    await p.locator('#client-keys tbody tr').nth(1).waitFor();
    await fits(p, 'operator-keys', [KEY_NAME], problems);
    await p.context().close();
    assert.deepEqual(problems, []);
  });
});
