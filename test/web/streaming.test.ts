// WebRTC streaming (R2) from a real Chromium: the page /app/streaming/ runs the guide's snippet
// (web/streaming/stream.js) with a fake camera playing a real face video; the recognition result for the
// enrolled person must come back over the data channel.
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { useTestApp } from '../helpers/app.ts';
import { FAKECAM, browserSkip, launchBrowser, requireBrowserFiles } from '../helpers/browser.ts';
import { TEST_MASTER_KEY, createTenant, createUser, postForm, type Tenant } from '../helpers/face-fixtures.ts';
import { readMjpegFrames } from '../../src/vision/mjpeg.ts';

const skip = browserSkip('WebRTC browser test');

describe('WebRTC streaming from a real browser', { skip }, () => {
  const t = useTestApp('pglite', { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let base = '';
  let tenant: Tenant;

  before(async () => {
    requireBrowserFiles();
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'Streaming browser');
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

  test('the page streams the fake camera; the enrolled person is identified over the data channel; Stop closes the session', async () => {
    const page = await (await browser.newContext()).newPage();
    const created: string[] = [];
    page.on('response', async (r) => {
      if (r.url().endsWith('/api/streaming/sessions/') && r.status() === 201) created.push((await r.json()).session_id);
    });
    await page.goto(`${base}/app/streaming/`);
    const [apiKey, secretKey] = tenant.auth.replace(/^ApiKey /, '').split(':');
    await page.fill('input[name=api_key]', apiKey);
    await page.fill('input[name=secret_key]', secretKey);
    await page.click('#start');
    await page.waitForFunction(() => document.getElementById('state')?.dataset.userId === 'AOC', undefined, { timeout: 45_000 });
    const last = JSON.parse((await page.textContent('#last')) ?? '{}');
    assert.equal(last.type, 'recognition_result');
    assert.equal(last.result.status, 'completed');
    assert.equal(last.result.result.matches[0].user_id, 'AOC');
    assert.equal(created.length, 1);
    const status = await t().app.inject({ method: 'GET', url: `/api/streaming/sessions/${created[0]}/`, headers: { authorization: tenant.auth } });
    assert.equal(status.json().status, 'connected', status.body);
    assert.ok(status.json().stats.results >= 1);
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'Stopped');
    const gone = await t().app.inject({ method: 'GET', url: `/api/streaming/sessions/${created[0]}/`, headers: { authorization: tenant.auth } });
    assert.equal(gone.statusCode, 404);
    await page.context().close();
  });
});
