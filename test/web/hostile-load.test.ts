// Pages before their scripts run, and with hostile links. Every form is a POST: a sign-in submitted with
// Enter before the page's script had bound it (a slow link: the console loads chart.js and ~20 modules
// first) went out as a GET, and the operator token or API secret landed in the address bar, the browser
// history and the server's request log. The camera page survives a link whose ?mode= breaks a selector.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/env.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/app.ts';
import type { FastifyInstance } from 'fastify';
import { browserSkip, launchBrowser, requireBrowserFiles } from '../helpers/browser.ts';

const ADMIN = 'operator-token-that-must-not-leak-0123456789';
const skip = browserSkip('hostile page loads');

describe('pages before their scripts run, and hostile links', { skip }, () => {
  let app: FastifyInstance;
  let container: Container;
  let browser: Browser;
  let base: string;
  const logLines: string[] = [];

  before(async () => {
    requireBrowserFiles();
    const config = loadConfig({ LOG_LEVEL: 'info', WAJAH_ADMIN_TOKEN: ADMIN, WAJAH_WORKERS: '0' });
    container = await createContainer(config, { engine: false, pgliteDir: 'memory://', log: { info() {}, warn() {}, error() {} } });
    app = await buildApp(config, container, { logStream: { write: (l: string) => void logLines.push(l) } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await container?.close();
  });

  /** The page with its entry script held back 3 s, as on a slow link. */
  async function slowPage(path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.route(`**${path}main.js`, async (route) => {
      await new Promise((r) => setTimeout(r, 3000));
      await route.continue();
    });
    await page.goto(`${base}${path}`, { waitUntil: 'commit' });
    return page;
  }

  for (const [what, path, fields, secret] of [
    ['the operator token on the console', '/app/console/', [['#admin-token', ADMIN]], ADMIN],
    ['an API secret on the console', '/app/console/', [['#signin-key', 'wk_example'], ['#signin-secret', 'wsk_console_secret_never_in_a_url']], 'wsk_console_secret_never_in_a_url'],
    ['an API secret on the streaming page', '/app/streaming/', [['#stream-form [name=api_key]', 'wk_example'], ['#stream-form [name=secret_key]', 'wsk_stream_secret_never_in_a_url']], 'wsk_stream_secret_never_in_a_url'],
  ] as const) {
    test(`${what}, submitted before the script has loaded, reaches no URL and no log line`, async () => {
      const page = await slowPage(path);
      for (const [selector, value] of fields) await page.locator(selector).fill(value);
      await page.locator(fields.at(-1)![0]).press('Enter');
      await page.waitForTimeout(1500);
      assert.ok(!page.url().includes(secret), `in the address bar: ${page.url()}`);
      assert.ok(!logLines.some((l) => l.includes(secret)), `in the server log: ${logLines.find((l) => l.includes(secret))}`);
      await page.close();
    });
  }

  test('a camera link with a ?mode= that is no selector: the page still works', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/app/camera/?mode=${encodeURIComponent('x"]')}&user_id=U1`);
    await page.waitForLoadState('load');
    await page.waitForTimeout(500);
    assert.deepEqual(errors, [], 'the camera page threw while loading');
    // The page's script runs: Start without credentials explains what is needed.
    await page.locator('#start').click();
    await page.locator('#camera-error[data-code="CREDENTIALS_NEEDED"]').waitFor({ state: 'visible', timeout: 3000 });
    await page.close();
  });
});
