// The camera page as people meet it, in a real Chromium against a real app (real face engine, the fake
// camera playing a real face): a focus ring and a skip link that can be seen, a way forward without a
// camera (the PIN), settings that cannot change under a running session, a camera unplugged or a server
// that stops answering mid-run ending in words instead of running for ever, a network loss and an
// expired session explained, one session for a double click, and on a 360 px phone or at 200 % zoom
// the preview and the instruction on screen once Start is pressed, and the decision once it comes.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { useTestApp } from '../helpers/app.ts';
import { CHROMIUM, browserSkip, launchBrowser, requireBrowserFiles, storeConsoleCredentials } from '../helpers/browser.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, type Tenant } from '../helpers/face-fixtures.ts';

const skip = browserSkip('camera accessibility tests');
const shotDir = process.env.WAJAH_SHOTS ?? '/tmp';
const shot = (p: Page, name: string) => p.screenshot({ path: path.join(shotDir, `wajah-a11y-${name}.png`), fullPage: true });
const RAW_CODE = /\b[A-Z]{2,}(_[A-Z]+)+\b/;

/** WCAG contrast ratio of two CSS colours (rgb()/rgba(), alpha ignored). */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = c.match(/[\d.]+/g)!.slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The focused element's outline colour and the opaque background around it (where the ring is drawn). */
const focusColours = (p: Page) =>
  p.evaluate(() => {
    const e = document.activeElement as HTMLElement;
    const opaque = (n: Element | null): string => {
      for (; n; n = n.parentElement) {
        const c = getComputedStyle(n).backgroundColor;
        const alpha = Number(c.match(/[\d.]+/g)?.[3] ?? 1);
        if (alpha > 0.5 && c !== 'rgba(0, 0, 0, 0)') return c;
      }
      return 'rgb(255, 255, 255)';
    };
    const cs = getComputedStyle(e);
    return { id: e.id || e.className, outline: cs.outlineColor, style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), around: opaque(e.parentElement), color: cs.color, background: opaque(e) };
  });

describe('camera page for everyone: keyboard, contrast, no camera, failures mid-run, small screens', { skip }, () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let noCamera: Browser;
  let base: string;
  let tenant: Tenant;

  before(async () => {
    requireBrowserFiles();
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'A11y Test');
    await createUser(app, tenant, 'AX1', 'Ayu');
    browser = await launchBrowser();
    // No fake device at all: the machine has no camera (getUserMedia fails with NotFoundError).
    noCamera = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream'] });
  });

  after(async () => {
    await Promise.all([browser?.close(), noCamera?.close()]);
  });

  /** The camera page signed in as the tenant; `getUserMedia`'s stream is kept in window.__stream. */
  async function cameraPage(b: Browser, query: string, opts: { width?: number; height?: number; locale?: string } = {}): Promise<Page> {
    const context = await b.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 844 }, locale: opts.locale ?? 'en-US' });
    await context.addInitScript(() => {
      const md = navigator.mediaDevices;
      if (!md?.getUserMedia) return;
      const original = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        const s = await original(c);
        (window as unknown as { __stream: MediaStream }).__stream = s;
        return s;
      };
    });
    const p = await context.newPage();
    p.on('pageerror', (e) => console.error('page error:', e.message));
    await storeConsoleCredentials(p, base, tenant.auth);
    await p.goto(`${base}/app/camera/${query}`);
    return p;
  }

  const errorCode = (p: Page) => p.locator('#camera-error').getAttribute('data-code');
  const cameraLive = (p: Page) =>
    p.evaluate(() => ({
      preview: document.querySelector('#preview')!.classList.contains('live'),
      tracks: ((window as unknown as { __stream?: MediaStream }).__stream?.getTracks() ?? []).filter((tr) => tr.readyState === 'live').length,
    }));

  test('the page codes for a stalled server and a lost camera have English and Indonesian words and a next step', async () => {
    const p = await cameraPage(browser, '');
    const table = await p.evaluate(async () => {
      const m = await import('/app/assets/messages.js' as string);
      return { messages: m.MESSAGES, next: m.NEXT };
    });
    for (const code of ['NETWORK_TIMEOUT', 'CAMERA_LOST']) {
      const m = table.messages[code];
      for (const lang of ['en', 'id']) assert.equal(m?.[lang]?.length, 2, `${code} ${lang}: what happened, what to do`);
      assert.notEqual(m.en[0], m.id[0], `${code} is translated`);
      assert.ok(table.next[m.next]?.en && table.next[m.next]?.id, `${code} has a next step`);
    }
    await p.context().close();
  });

  test('every page has one h1 naming it, and no label is put on an element that cannot carry one', async () => {
    const p = await cameraPage(browser, '');
    for (const [url, name] of [['/app/camera/', 'Wajah camera'], ['/app/console/', 'Wajah console'], ['/app/', 'Wajah']]) {
      await p.goto(`${base}${url}`);
      const h1 = await p.locator('h1').allInnerTexts();
      assert.deepEqual(h1.map((s) => s.trim()), [name], `${url}: one h1`);
      // aria-label on a plain div/span/p without a role is ignored by screen readers (ARIA: naming prohibited).
      const unnamed = await p.evaluate(() =>
        Array.from(document.querySelectorAll('div[aria-label], span[aria-label], p[aria-label]'))
          .filter((e) => !e.getAttribute('role'))
          .map((e) => e.id || e.className),
      );
      assert.deepEqual(unnamed, [], `${url}: labels on elements without a role`);
    }
    await p.context().close();
  });

  test('the focus ring stands out (3:1) from the page on every control, and the skip link is readable in high contrast', async () => {
    const p = await cameraPage(browser, '?mode=verification&user_id=AX1');
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      await p.keyboard.press('Tab');
      const f = await focusColours(p);
      seen.push(String(f.id));
      assert.equal(f.style, 'solid', `${f.id}: focus outline drawn`);
      assert.ok(f.width >= 2, `${f.id}: focus outline ${f.width}px`);
      const ratio = contrast(f.outline, f.around);
      assert.ok(ratio >= 3, `${f.id}: focus ring ${f.outline} on ${f.around} is ${ratio.toFixed(2)}:1, under 3:1`);
    }
    assert.ok(seen.includes('start') && seen.includes('lang-toggle') && seen.includes('user-id'), `keyboard reaches the controls: ${seen.join(', ')}`);

    // High contrast: the skip link, once focused, must be readable on its own background.
    await p.click('#contrast-toggle'); // remembered: the reload keeps it
    await p.reload();
    await p.keyboard.press('Tab');
    const s = await focusColours(p);
    assert.equal(s.id, 'skip-link');
    const ratio = contrast(s.color, s.background);
    assert.ok(ratio >= 4.5, `skip link text ${s.color} on ${s.background} is ${ratio.toFixed(2)}:1 in high contrast`);
    assert.ok(contrast(s.outline, s.around) >= 3, 'high contrast focus ring');
    await shot(p, 'skip-link-high-contrast');
    await p.click('#contrast-toggle'); // leave the preference as it was for the next pages
    await p.context().close();
  });

  test('no camera at all: said in words, with the PIN as a way forward in verification (English and Indonesian)', async () => {
    for (const [locale, label] of [['en-US', 'Use PIN'], ['id-ID', 'Gunakan PIN']] as const) {
      const p = await cameraPage(noCamera, '?mode=verification&user_id=AX1', { locale });
      await p.click('#start');
      await p.locator('#camera-error:not([hidden])').waitFor();
      assert.equal(await errorCode(p), 'CAMERA_UNAVAILABLE');
      const text = (await p.locator('#camera-error').innerText()).trim();
      assert.doesNotMatch(text, RAW_CODE);
      const pin = p.locator('#camera-error button[data-next=pin]');
      assert.equal((await pin.innerText()).trim(), label, `${locale}: the PIN is offered`);
      await shot(p, `no-camera-${locale}`);
      await pin.click();
      assert.equal(await p.locator('#pin-form').isVisible(), true);
      assert.equal(await p.evaluate(() => document.activeElement?.getAttribute('name')), 'pin', 'focus moves to the PIN field');
      await p.context().close();
    }
  });

  test("a user whose fallback is a password verifies with it: the form asks for the user's own kind", async () => {
    const { app } = t();
    await createUser(app, tenant, 'AX2', 'Bima');
    const set = await app.inject({ method: 'PUT', url: '/api/clients/users/AX2/fallback/', headers: { authorization: tenant.auth }, payload: { type: 'password', secret: 'kopi-tubruk-2026' } });
    assert.equal(set.statusCode, 200, set.body);
    const p = await cameraPage(noCamera, '?mode=verification&user_id=AX2');
    await p.click('#start');
    await p.locator('#camera-error:not([hidden])').waitFor();
    await p.click('#camera-error button[data-next=pin]');
    await p.locator('#pin-form[data-kind=password]').waitFor();
    assert.equal((await p.locator('#pin-label').innerText()).trim(), 'Password');
    assert.equal(await p.locator('#pin-form input[name=pin]').getAttribute('inputmode'), 'text', 'no number pad for a password');
    await p.fill('#pin-form input[name=pin]', 'kopi-tubruk-2026');
    await p.click('#pin-submit');
    // Sent as a PIN, the right password was "wrong" and spent one of the user's attempts.
    await p.locator('#pin-form').waitFor({ state: 'hidden' });
    assert.match(await p.locator('#result').innerText(), /Bima/);
    const state = (await app.inject({ method: 'GET', url: '/api/clients/users/AX2/fallback/', headers: { authorization: tenant.auth } })).json();
    assert.equal(state.failed_attempts, 0);
    await shot(p, 'password-fallback');
    await p.context().close();
  });

  test('mode, user and options cannot change while a session is running; they can again after Stop', async () => {
    const p = await cameraPage(browser, '?mode=enrollment&user_id=AX1');
    await p.check('#multi-angle'); // needs three angles: the talking face keeps the run going
    await p.click('#start');
    await p.locator('#stop:not([disabled])').waitFor();
    const locked = await p.evaluate(() => Array.from(document.querySelectorAll('#settings input')).map((i) => `${(i as HTMLInputElement).name}=${(i as HTMLInputElement).disabled}`));
    assert.ok(locked.every((s) => s.endsWith('=true')), `settings locked during the run: ${locked.join(', ')}`);
    await p.waitForTimeout(1500);
    assert.equal(await p.locator('#camera-error').isHidden(), true, 'the run goes on');
    await p.keyboard.press('Escape');
    await p.locator('#stop[disabled]').waitFor();
    const unlocked = await p.evaluate(() => Array.from(document.querySelectorAll('#settings input')).every((i) => !(i as HTMLInputElement).disabled));
    assert.equal(unlocked, true, 'settings usable after Stop');
    await p.context().close();
  });

  test('the camera unplugged mid-run: the run stops and says so, the camera is released', async () => {
    const p = await cameraPage(browser, '?mode=enrollment&user_id=AX1');
    await p.check('#multi-angle');
    await p.click('#start');
    await p.waitForFunction(() => /^[2-9]|\d\d/.test(document.querySelector('#frames-sent')!.textContent!));
    // What Chromium does when the device goes away: the track ends and fires `ended`.
    await p.evaluate(() => {
      const track = (window as unknown as { __stream: MediaStream }).__stream.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await p.locator('#camera-error:not([hidden])').waitFor({ timeout: 5000 });
    assert.equal(await errorCode(p), 'CAMERA_LOST');
    assert.match(await p.locator('#guidance').innerText(), /camera stopped sending pictures/i);
    const sent = await p.locator('#frames-sent').innerText();
    await p.waitForTimeout(1200);
    assert.equal(await p.locator('#frames-sent').innerText(), sent, 'no more frames are sent');
    assert.deepEqual(await cameraLive(p), { preview: false, tracks: 0 });
    assert.equal(await p.locator('#start').isEnabled(), true);
    await shot(p, 'camera-unplugged');
    await p.context().close();
  });

  test('a server that stops answering mid-run: a coded message in words after a bounded wait, not a frozen instruction', async () => {
    const p = await cameraPage(browser, '?mode=enrollment&user_id=AX1');
    await p.check('#multi-angle');
    let frames = 0;
    // The third frame never gets an answer (a stalled connection).
    await p.route('**/process-frame/', (r) => (++frames <= 2 ? r.continue() : undefined));
    await p.click('#start');
    await p.locator('#camera-error:not([hidden])').waitFor({ timeout: 25_000 });
    assert.equal(await errorCode(p), 'NETWORK_TIMEOUT');
    const text = await p.locator('#camera-error').innerText();
    assert.match(text, /did not answer in time/);
    assert.doesNotMatch(text, RAW_CODE);
    assert.equal(await p.locator('#camera-error button[data-next=retry]').isVisible(), true, 'Try again offered');
    assert.deepEqual(await cameraLive(p), { preview: false, tracks: 0 });
    await shot(p, 'server-stalled');
    await p.context().close();
  });

  test('network lost and session expired mid-run are explained with a next step', async () => {
    const p = await cameraPage(browser, '?mode=enrollment&user_id=AX1');
    await p.check('#multi-angle');
    await p.click('#start');
    await p.waitForFunction(() => /^[2-9]|\d\d/.test(document.querySelector('#frames-sent')!.textContent!));
    await p.context().setOffline(true);
    await p.locator('#camera-error:not([hidden])').waitFor({ timeout: 5000 });
    assert.equal(await errorCode(p), 'NETWORK_ERROR');
    assert.equal(await p.locator('#camera-error button[data-next=retry]').isVisible(), true);
    await p.context().setOffline(false);

    // The session runs out: the server's 410 SESSION_EXPIRED for the next frame.
    let frames = 0;
    await p.route('**/process-frame/', (r) =>
      ++frames <= 2 ? r.continue() : r.fulfill({ status: 410, contentType: 'application/json', body: JSON.stringify({ code: 'SESSION_EXPIRED', message: 'The session has expired' }) }),
    );
    await p.locator('#camera-error button[data-next=retry]').click();
    await p.locator('#camera-error[data-code=SESSION_EXPIRED]').waitFor({ timeout: 10_000 });
    assert.match(await p.locator('#camera-error').innerText(), /time for this session ran out/);
    assert.equal(await p.locator('#camera-error button[data-next=restart]').isVisible(), true, 'Start again offered');
    assert.deepEqual(await cameraLive(p), { preview: false, tracks: 0 });
    await p.context().close();
  });

  test('a double click on Start opens one session', async () => {
    const p = await cameraPage(browser, '?mode=enrollment&user_id=AX1');
    await p.check('#multi-angle');
    let creates = 0;
    p.on('request', (r) => void (r.url().includes('/enrollment/create/') && creates++));
    await p.dblclick('#start');
    await p.locator('#stop:not([disabled])').waitFor();
    await p.waitForTimeout(800);
    assert.equal(creates, 1);
    await p.keyboard.press('Escape');
    await p.context().close();
  });

  /** Whether `selector` lies entirely within the viewport. */
  const onScreen = (p: Page, selector: string) =>
    p.evaluate((sel) => {
      const r = document.querySelector(sel)!.getBoundingClientRect();
      return r.height > 0 && r.top >= -1 && r.bottom <= innerHeight + 1; // scroll positions are whole pixels
    }, selector);

  test('on a 360 px phone (Indonesian) and at 200 % zoom, Start brings the preview and the instruction into view, then the decision', async () => {
    const cases = [
      { name: 'phone-360', width: 360, height: 740, locale: 'id-ID', decide: '?mode=enrollment&user_id=AX1' },
      // A 1280×844 laptop at 200 %: 640×422 CSS pixels.
      { name: 'zoom-200', width: 640, height: 422, locale: 'en-US', decide: '?mode=verification&user_id=AX1' },
    ];
    for (const c of cases) {
      // A run that lasts (three angles): the form is below the preview, so pressing Start scrolled it away.
      const p = await cameraPage(browser, '?mode=enrollment&user_id=AX1', c);
      assert.equal(await p.evaluate(() => document.documentElement.lang), c.locale.slice(0, 2));
      await p.check('#multi-angle');
      await p.click('#start'); // scrolls the Start button into view, below the fold
      await p.locator('#stop:not([disabled])').waitFor();
      assert.equal(await onScreen(p, '#preview'), true, `${c.name}: the preview is on screen`);
      assert.equal(await onScreen(p, '#guidance'), true, `${c.name}: the instruction is on screen`);
      await p.waitForTimeout(1000);
      await p.screenshot({ path: path.join(shotDir, `wajah-a11y-${c.name}-running.png`) });
      await p.keyboard.press('Escape');
      // A run that ends in a decision (the phone enrolls AX1, the laptop then verifies AX1).
      await p.goto(`${base}/app/camera/${c.decide}`);
      await p.click('#start');
      await p.locator('#result .result').waitFor({ timeout: 30_000 });
      assert.equal(await onScreen(p, '#result .headline'), true, `${c.name}: the outcome is on screen`);
      assert.equal(await p.evaluate(() => document.documentElement.scrollWidth), c.width, `${c.name}: no horizontal scrolling`);
      await p.screenshot({ path: path.join(shotDir, `wajah-a11y-${c.name}-done.png`) });
      await p.context().close();
    }
  });
});
