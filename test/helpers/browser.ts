// Debian's Chromium driven by playwright-core, with a fake camera playing a real face video: the setup
// shared by the browser tests in test/web/.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { testDataDir } from '../../src/config/env.ts';
import { recordSkip } from './skips.ts';

/** Debian's Chromium (WAJAH_CHROMIUM overrides the path). */
export const CHROMIUM = process.env.WAJAH_CHROMIUM || '/usr/bin/chromium';
export const FAKECAM = path.join(testDataDir(), 'video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg');
/** Person A turning their head left and right (a 3-D liveness action). */
export const FAKECAM_HEADTURN = path.join(testDataDir(), 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg');

/**
 * The `skip` option of a browser suite: a reason when Chromium, the fake camera or `extra` files are
 * missing (printed once), except under CI=true, where the suite runs and its `before` fails instead
 * (call `requireBrowserFiles` there).
 */
export function browserSkip(label: string, extra: string[] = []): string | false {
  const missing = missingFiles(extra);
  const skip = missing.length > 0 && process.env.CI !== 'true' ? `${label} skipped: missing ${missing.join(', ')}` : false;
  if (skip) recordSkip(label, `missing ${missing.join(', ')}`);
  return skip;
}

export function requireBrowserFiles(extra: string[] = []): void {
  const missing = missingFiles(extra);
  if (missing.length) throw new Error(`CI=true and missing: ${missing.join(', ')}`);
}

function missingFiles(extra: string[]): string[] {
  return [CHROMIUM, FAKECAM, ...extra].filter((p) => !fs.existsSync(p));
}

/** Headless Chromium without network chatter, camera permission granted, `camera` (FAKECAM) as the camera. */
export function launchBrowser(camera: string = FAKECAM): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${camera}`,
    ],
  });
}

/**
 * Stores a tenant's key pair in the page's session the way the console's sign-in does (the page is left
 * on the console): `auth` is the tenant's `ApiKey <key>:<secret>` header.
 */
export async function storeConsoleCredentials(p: Page, base: string, auth: string): Promise<void> {
  const [apiKey, secretKey] = auth.replace(/^ApiKey /, '').split(':');
  await p.goto(`${base}/app/console/`);
  await p.evaluate(([k, s]) => sessionStorage.setItem('wajah.credentials', JSON.stringify({ apiKey: k, secretKey: s })), [apiKey, secretKey]);
}

/** Opens the console signed in as the tenant whose `ApiKey <key>:<secret>` header is `auth`. */
export async function signInConsole(p: Page, base: string, auth: string): Promise<void> {
  await storeConsoleCredentials(p, base, auth);
  await p.goto(`${base}/app/console/`);
  await p.locator('#client-area').waitFor({ state: 'visible' });
}

