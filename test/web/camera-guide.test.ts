// The camera page's face guide (issue 12), in a real Chromium whose fake camera plays person A turning
// their head, against a real app with the real face engine: the oval sits on the face the server reports
// for each frame (mapped to the mirrored, cover-fitted preview) and is green exactly for the good frames;
// the ring counts enrollment angles and liveness challenges as they complete; a three-angle enrollment
// says which angle it captured in the person's own left/right, the bucket the server reports.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { useTestApp } from '../helpers/app.ts';
import { FAKECAM_HEADTURN, browserSkip, launchBrowser, requireBrowserFiles, storeConsoleCredentials } from '../helpers/browser.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, type Tenant } from '../helpers/face-fixtures.ts';

const skip = browserSkip('camera guide tests', [FAKECAM_HEADTURN]);
const shotDir = process.env.WAJAH_SHOTS ?? '/tmp';
const GREEN = 'rgb(47, 211, 107)';
const ORANGE = 'rgb(255, 176, 32)';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface FaceLoc {
  box: Box;
  image_width: number;
  image_height: number;
}
/** One frame answer as the server sent it (recorded in order: the page keeps one request in flight). */
interface Answer {
  status: number;
  body: Record<string, any>;
}
/** What the page showed once it had applied answer number `answer` (1-based). */
interface Snapshot {
  answer: number;
  tone: string;
  tracked: boolean;
  /** The camera is still on (after the last answer it is released and the guide hidden). */
  live: boolean;
  colour: string;
  oval: Box;
  view: { width: number; height: number };
  progress: string;
  dash: string | null;
  timeVisible: boolean;
  note: string | null;
  noteText: string;
  chips: string[];
  guidance: string;
}

/** The test's own mapping: frame pixels → preview pixels (object-fit: cover, then mirrored). */
function expectedBox(face: FaceLoc, view: { width: number; height: number }): Box {
  const s = Math.max(view.width / face.image_width, view.height / face.image_height);
  const left = (view.width - face.image_width * s) / 2;
  const top = (view.height - face.image_height * s) / 2;
  const x1 = left + face.box.x * s;
  const x2 = left + (face.box.x + face.box.width) * s;
  return { x: view.width - x2, y: top + face.box.y * s, width: x2 - x1, height: face.box.height * s };
}

describe('camera page: an oval that follows the face, a progress ring, angles in the person\'s own words', { skip }, () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let browser: Browser;
  let base: string;
  let tenant: Tenant;

  before(async () => {
    requireBrowserFiles([FAKECAM_HEADTURN]);
    const { app } = t();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    tenant = await createTenant(app, 'Guide Test');
    await createUser(app, tenant, 'PA', 'Person A');
    browser = await launchBrowser(FAKECAM_HEADTURN);
  });

  after(async () => {
    await browser?.close();
  });

  /** Reduced motion: the oval jumps to each position (no transition), so its box can be read at once. */
  async function open(url: string): Promise<{ p: Page; context: BrowserContext; answers: Answer[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 844 }, reducedMotion: 'reduce' });
    const p = await context.newPage();
    p.on('pageerror', (e) => console.error('page error:', e.message));
    await storeConsoleCredentials(p, base, tenant.auth);
    const answers: Answer[] = [];
    await p.route('**/process-frame/', async (route) => {
      const res = await route.fetch();
      answers.push({ status: res.status(), body: await res.json().catch(() => ({})) });
      await route.fulfill({ response: res });
    });
    await p.goto(`${base}${url}`);
    // After each frame answer the page marks the guide with its number: record what it shows then.
    await p.evaluate(() => {
      const w = window as unknown as { __guide: unknown[] };
      w.__guide = [];
      const g = document.querySelector<HTMLElement>('#preview .face-guide')!;
      const oval = g.querySelector('.oval')!;
      const pv = document.querySelector<HTMLElement>('#preview')!;
      new MutationObserver(() => {
        const o = oval.getBoundingClientRect();
        const v = pv.getBoundingClientRect();
        const note = document.querySelector<HTMLElement>('#angle-note')!;
        w.__guide.push({
          answer: Number(g.dataset.answer),
          tone: g.dataset.tone,
          tracked: g.dataset.face === 'tracked',
          live: pv.classList.contains('live'),
          colour: getComputedStyle(oval).borderTopColor,
          oval: { x: o.x - v.x - pv.clientLeft, y: o.y - v.y - pv.clientTop, width: o.width, height: o.height },
          view: { width: pv.clientWidth, height: pv.clientHeight },
          progress: g.dataset.progress ?? '',
          dash: g.querySelector('.ring-progress')!.getAttribute('stroke-dasharray'),
          timeVisible: getComputedStyle(g.querySelector('.ring-time')!).visibility === 'visible',
          note: note.dataset.angle ?? null,
          noteText: note.textContent ?? '',
          chips: Array.from(document.querySelectorAll<HTMLElement>('#angles span.done')).map((s) => s.dataset.angle!),
          guidance: document.querySelector('#guidance')!.textContent ?? '',
        });
      }).observe(g, { attributes: true, attributeFilter: ['data-answer'] });
    });
    return { p, context, answers };
  }

  /** The first snapshot of each answer (a stopped run may mark the same number twice). */
  async function snapshots(p: Page): Promise<Snapshot[]> {
    const all = await p.evaluate(() => (window as unknown as { __guide: Snapshot[] }).__guide);
    return all.filter((s, i) => s.answer > 0 && all.findIndex((x) => x.answer === s.answer) === i);
  }

  const ended = (p: Page, ms: number) =>
    p.waitForFunction(() => !(document.querySelector('#start') as HTMLButtonElement).disabled && document.querySelector('#result')!.childElementCount > 0, undefined, { timeout: ms });

  test('three-angle enrollment: the oval sits on the reported face, green exactly for captured frames; the ring and the words follow the angles the server captured', async () => {
    const { p, context, answers } = await open('/app/camera/?mode=enrollment&user_id=PA');
    await p.check('#multi-angle');
    await p.click('#start');
    await p.locator('#preview .face-guide[data-face=tracked]').waitFor({ timeout: 30_000 });
    await p.screenshot({ path: path.join(shotDir, 'wajah-web-camera-guide-enrollment.png') });
    // (A picture of the moment the page names a turned angle, for docs/web.md; not an assertion.)
    const turnedShot = p
      .locator('#angle-note[data-angle=left], #angle-note[data-angle=right]')
      .first()
      .waitFor({ timeout: 100_000 })
      .then(() => p.screenshot({ path: path.join(shotDir, 'wajah-web-camera-guide-turned.png') }))
      .catch(() => {});
    // Front, left and right: the 13 s video loops until all three are captured (a busy machine samples fewer frames).
    await ended(p, 100_000);
    await turnedShot;
    await p.locator('#enrollment-id').waitFor();
    const snaps = await snapshots(p);
    assert.ok(snaps.length >= 5, `${snaps.length} frames answered`);
    assert.ok(snaps.length <= answers.length);

    const centres: number[] = [];
    let good = 0;
    let bad = 0;
    for (const s of snaps) {
      const a = answers[s.answer - 1];
      const face = a.body.face as FaceLoc | undefined;
      const accepted = a.status === 200 && a.body.frame_accepted === true;
      // Green exactly for the frames the server took; orange for every other answer.
      assert.equal(s.tone, accepted ? 'good' : 'bad', `answer ${s.answer}: ${JSON.stringify(a.body).slice(0, 200)}`);
      assert.equal(s.colour, accepted ? GREEN : ORANGE, `answer ${s.answer}`);
      if (accepted) good++;
      else bad++;
      assert.equal(s.tracked, Boolean(face), `answer ${s.answer}: the guide follows a face only when one was reported`);
      if (face && s.live) {
        const b = expectedBox(face, s.view);
        const cx = s.oval.x + s.oval.width / 2;
        const cy = s.oval.y + s.oval.height / 2;
        assert.ok(cx >= b.x && cx <= b.x + b.width && cy >= b.y && cy <= b.y + b.height, `answer ${s.answer}: oval centre (${cx}, ${cy}) outside the face ${JSON.stringify(b)}`);
        // Around the face, not inside it.
        assert.ok(s.oval.width >= b.width && s.oval.height >= b.height, `answer ${s.answer}: the oval encloses the face`);
        centres.push(cx);
      }
      // The ring: frames (here angles) captured of those needed, as the server counted them.
      if (a.status === 200) {
        const { current, required } = a.body.progress;
        assert.equal(s.progress, `${Math.min(current, required)}/${required}`);
        assert.ok(Math.abs(Number(s.dash?.split(' ')[0]) - (100 * Math.min(current, required)) / required) < 1e-6, `ring ${s.dash}`);
        // The chips are the server's angles.
        assert.deepEqual([...s.chips].sort(), [...a.body.progress.angles_captured].sort(), `answer ${s.answer}`);
      }
      // The page names the angle the server captured, in the person's own words.
      if (accepted) {
        assert.equal(s.note, a.body.angle, `answer ${s.answer}`);
        const words = { front: /^Front view captured\.$/, left: /turned to your left/, right: /turned to your right/ }[a.body.angle as 'front' | 'left' | 'right'];
        assert.match(s.noteText, words);
      }
      assert.doesNotMatch(s.guidance, /\b(to the left|to the right)\b/, 'left and right are always the person\'s own');
    }
    assert.ok(good >= 3 && bad >= 1, `green ${good}, orange ${bad}`);
    // The oval moved with the head across the preview.
    assert.ok(Math.max(...centres) - Math.min(...centres) >= 20, `oval centres ${Math.min(...centres)}..${Math.max(...centres)}`);
    const captured = snaps.filter((s) => answers[s.answer - 1].body.frame_accepted).map((s) => s.note);
    assert.deepEqual(new Set(captured), new Set(['front', 'left', 'right']));
    // What the page listed at the end is what the server stored.
    const enrollmentId = await p.locator('#enrollment-id').innerText();
    const list = await t().app.inject({ method: 'GET', url: '/api/auth/enrollments/?user_id=PA', headers: { authorization: tenant.auth } });
    const stored = list.json().enrollments.find((e: { enrollment_id: string }) => e.enrollment_id === enrollmentId);
    assert.ok(stored, list.body);
    await p.screenshot({ path: path.join(shotDir, 'wajah-web-camera-guide-enrolled.png') });
    await context.close();
  });

  test('liveness: the ring counts the challenges met and the time left for the current one; the oval follows the face', async () => {
    const { p, context, answers } = await open('/app/camera/?mode=identification');
    // Two head challenges with time enough for the recorded head turns (the 13 s video loops; a busy
    // machine samples fewer frames), whatever order the server draws.
    await p.route('**/auth/authentication/create/', async (route) => {
      const body = JSON.parse(route.request().postData() ?? '{}');
      await route.continue({ postData: JSON.stringify({ ...body, liveness_challenges: ['head_movement', 'turn_left'], challenge_timeout: 45 }) });
    });
    await p.check('#require-liveness');
    await p.click('#start');
    await p.locator('#preview .face-guide[data-progress="0/2"]').waitFor({ timeout: 30_000 });
    // (A picture of one challenge met, for docs/web.md; not an assertion.)
    const shot = p
      .locator('#preview .face-guide[data-progress="1/2"]')
      .waitFor({ timeout: 100_000 })
      .then(() => p.screenshot({ path: path.join(shotDir, 'wajah-web-camera-guide-liveness.png') }))
      .catch(() => {});
    await ended(p, 120_000);
    await shot;
    const snaps = await snapshots(p);
    // What the server said, to read a failure by.
    const summary = answers.map((a, i) => `${i + 1}:${a.status}:${a.body.status ?? a.body.code}:${a.body.liveness?.current_challenge ?? ''}:${(a.body.liveness ?? a.body.liveness_result)?.challenges_completed?.join('+') ?? ''}:${a.body.liveness_result?.failure_reason ?? ''}`).join(' ');
    let before = 0;
    let advanced = 0;
    for (const s of snaps) {
      const a = answers[s.answer - 1];
      if (a.status !== 200) continue;
      const met = (a.body.liveness ?? a.body.liveness_result)?.challenges_completed?.length ?? 0;
      assert.equal(s.progress, `${met}/2`, `answer ${s.answer}`);
      assert.ok(Math.abs(Number(s.dash?.split(' ')[0]) - 50 * met) < 1e-6, `ring ${s.dash}`);
      if (met > before) advanced++;
      before = met;
      // The inner arc runs while a challenge is open.
      assert.equal(s.timeVisible, Boolean(a.body.liveness?.current_challenge), `answer ${s.answer}`);
      if (a.body.face && s.live) {
        const b = expectedBox(a.body.face, s.view);
        const cx = s.oval.x + s.oval.width / 2;
        const cy = s.oval.y + s.oval.height / 2;
        assert.ok(cx >= b.x && cx <= b.x + b.width && cy >= b.y && cy <= b.y + b.height, `answer ${s.answer}: oval off the face`);
      }
    }
    assert.equal(advanced, 2, `the ring advanced once per challenge met; answers ${summary}`);
    const last = answers.at(-1)!.body;
    assert.deepEqual([...last.liveness_result.challenges_completed].sort(), ['head_movement', 'turn_left']);
    assert.equal(await p.locator('#preview .face-guide').getAttribute('data-progress'), '2/2');
    await context.close();
  });
});
