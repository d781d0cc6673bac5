// The console's audit tab walked page by page in Chromium while entries are deleted (retention, a deleted
// user) and added (inside the window: a late write; on top: new activity) between the pages. Paging by
// offset skipped an entry for each one removed from a page already read, and showed one twice for each one
// added above the offset. With the API's cursor the walk shows every entry of page 1's window exactly once,
// except those removed before the walk reached them; Previous shows the page before again.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useTestApp } from '../helpers/app.ts';
import { browserSkip, launchBrowser, requireBrowserFiles, signInConsole } from '../helpers/browser.ts';
import { adminHeaders, createClient, quickBackend, type TestClient } from '../helpers/foundation.ts';

const skip = browserSkip('console audit paging test');

interface Entry {
  id: string;
  timestamp: string;
}
interface AuditPage {
  start_date: string;
  end_date: string;
  page: number;
  count: number;
  next_cursor: string | null;
  results: Entry[];
}

describe('console audit tab: a walk through the pages shows each entry once while entries come and go', { skip }, () => {
  const t = useTestApp(quickBackend());
  let browser: Browser;
  let base: string;
  let tenant: TestClient;
  const db = () => t().container.database.db;
  /** A configuration entry of the tenant (the audit_logs row the feed reads). */
  const entry = (target: string, at: Date) => ({
    id: crypto.randomUUID(),
    client_id: tenant.client_id,
    category: 'configuration',
    action: 'key.updated',
    actor: 'admin',
    target,
    details: '{}',
    ip: null,
    created_at: at,
  });

  before(async () => {
    requireBrowserFiles();
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createClient(app, { name: 'Audit Walk', tier: 'enterprise' });
    // Fifty configuration entries a second apart in the last minute: with client.created, three pages of
    // twenty.
    const now = Date.now();
    await db()
      .insertInto('audit_logs')
      .values(Array.from({ length: 50 }, (_, i) => entry(`K${i}`, new Date(now - (i + 1) * 1000))))
      .execute();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  /** Clicks `button` (or submits the filter) and returns the API's page and the rows the tab then shows. */
  async function read(p: Page, click: () => Promise<void>): Promise<{ api: AuditPage; rows: string[] }> {
    const answer = p.waitForResponse((r) => r.url().includes('/api/analytics/audit-logs/') && r.request().method() === 'GET');
    await click();
    const api = (await (await answer).json()) as AuditPage;
    const want = api.results.map((e) => e.id);
    // The rows of this answer, once drawn.
    await p.waitForFunction((keys) => {
      const shown = Array.from(document.querySelectorAll<HTMLElement>('#audit-table tbody tr'), (r) => r.dataset.id);
      return JSON.stringify(shown) === JSON.stringify(keys);
    }, want);
    return { api, rows: want };
  }

  // Entries by id: every one of this walk is of audit_logs (configuration).
  const remove = (ids: string[]) => db().deleteFrom('audit_logs').where('id', 'in', ids).execute();
  /** An entry written late (a buffered write) between the two entries `a` and `b`, inside the window. */
  async function insertBetween(a: Entry, b: Entry): Promise<string> {
    const row = entry('late', new Date(Math.round((Date.parse(a.timestamp) + Date.parse(b.timestamp)) / 2)));
    await db().insertInto('audit_logs').values(row).execute();
    return row.id;
  }
  /** New activity on top (after the window): an operator issues a key. */
  async function activity(): Promise<void> {
    const res = await t().app.inject({
      method: 'POST',
      url: `/api/admin/clients/${tenant.client_id}/keys/`,
      headers: { ...adminHeaders, 'content-type': 'application/json' },
      payload: { name: 'new' },
    });
    assert.equal(res.statusCode, 201, res.body);
  }

  test('Next follows the cursor: nothing twice, nothing skipped; Previous shows the page before again', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const p = await context.newPage();
    p.on('pageerror', (e) => console.error('page error:', e.message));
    await signInConsole(p, base, tenant.auth);
    await p.click('nav.tabs button[data-tab=audit]');
    await p.locator('#audit-table tbody tr').first().waitFor();
    await p.selectOption('#audit-filter select[name=category]', 'configuration');
    const first = await read(p, () => p.click('#audit-filter button[type=submit]'));
    assert.equal(first.rows.length, 20);
    // The window as page 1 saw it (configuration entries come from audit_logs only).
    const atStart = (
      await db()
        .selectFrom('audit_logs')
        .select('id')
        .where('client_id', '=', tenant.client_id)
        .where('category', '=', 'configuration')
        .where('created_at', '>=', new Date(first.api.start_date))
        .where('created_at', '<', new Date(first.api.end_date))
        .execute()
    ).map((r) => r.id);
    assert.equal(atStart.length, first.api.count);
    assert.ok(atStart.length > 40, 'three pages');

    const pages = [first];
    const late: string[] = [];
    const goneUnseen: string[] = [];
    // Before page 2: two entries of page 1 go, one arrives inside page 1's stretch, one on top.
    await remove([first.rows[3]!, first.rows[7]!]);
    late.push(await insertBetween(first.api.results[0]!, first.api.results[1]!));
    await activity();
    pages.push(await read(p, () => p.click('#audit-next')));
    assert.match(await p.locator('#audit-page').innerText(), /^Page 2 of 3/);
    // Before page 3: one entry of page 2 goes, and one the walk has not reached (the oldest); another late one.
    const second = pages[1]!;
    const seen = new Set([...first.rows, ...second.rows]);
    const unseen = atStart.filter((k) => !seen.has(k));
    assert.ok(unseen.length > 2, 'page 3 is still to come');
    goneUnseen.push(unseen[0]!);
    await remove([second.rows[5]!, unseen[0]!]);
    late.push(await insertBetween(second.api.results[10]!, second.api.results[11]!));
    await activity();
    while (await p.locator('#audit-next').isEnabled()) {
      pages.push(await read(p, () => p.click('#audit-next')));
      assert.ok(pages.length < 6, 'the walk ends');
    }

    const walked = pages.flatMap((x) => x.rows);
    const twice = walked.filter((k, i) => walked.indexOf(k) !== i);
    assert.deepEqual(twice, [], 'an entry shown twice');
    assert.deepEqual(walked.filter((k) => !atStart.includes(k)), [], 'an entry that was not in the window when the walk started (a late one, or new activity)');
    assert.deepEqual(
      atStart.filter((k) => !walked.includes(k)).sort(),
      [...goneUnseen].sort(),
      'every entry of the window shown, except the one removed before the walk reached it',
    );

    // Previous: page 2 again, as it is now (the cursor of page 1's last entry): less the entry removed from
    // it, with the late one in its place in time.
    assert.equal(pages.length, 3);
    const last = pages[2]!;
    const back = await read(p, () => p.click('#audit-prev'));
    assert.deepEqual(back.rows, [...second.rows.slice(0, 5), ...second.rows.slice(6, 11), late[1], ...second.rows.slice(11)]);
    assert.equal(back.api.page, 2);
    assert.equal(await p.locator('#audit-next').isEnabled(), true);
    // And Next again: the same last page.
    assert.deepEqual((await read(p, () => p.click('#audit-next'))).rows, last.rows);
    // Previous down to page 1: page 1's window read again, so what went meanwhile has gone and the late
    // entry inside it is there; nothing newer than the window.
    let home = back;
    while (await p.locator('#audit-prev').isEnabled()) home = await read(p, () => p.click('#audit-prev'));
    assert.equal(home.api.page, 1);
    assert.deepEqual([home.api.start_date, home.api.end_date], [first.api.start_date, first.api.end_date]);
    const gone = new Set([first.rows[3], first.rows[7]]);
    assert.deepEqual(home.rows.slice(0, 4), [first.rows[0], late[0], first.rows[1], first.rows[2]]);
    assert.deepEqual(home.rows.filter((k) => k !== late[0]).slice(0, 18), first.rows.filter((k) => !gone.has(k)));
    assert.match(await p.locator('#audit-page').innerText(), /^Page 1 of/);
    await context.close();
  });
});
