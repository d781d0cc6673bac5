// The frames one enrollment session analyses (docs/face-flows.md, "Frames per session"). Every frame runs
// the face engine, and nothing bounded a session that never completed: frames that were all rejected, or
// another person's face (FACE_MISMATCH, whose count was rolled back with the error), kept the engine busy
// until the session expired, up to 9,000 frames in 300 s at 30 frames/s. Now a session analyses at most
// ENROLLMENT_MAX_FRAMES (300); the next frame is not analysed and ends a session that cannot complete as
// failed (ENROLLMENT_FRAME_LIMIT). The session's count is moved forward in its row (the count the service
// keeps, not a stub) so that the real default is tested with a few real frames instead of 300.
// Frames refused as an image (INVALID_IMAGE) count as well, here and in authentication sessions' faceless-frame
// budget (AUTH_MAX_EMPTY_FRAMES) and liveness clock: uncounted, one session took them without end.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../helpers/app.ts';
import { quickBackend } from '../helpers/foundation.ts';
import { TEST_MASTER_KEY, createTenant, createUser, dataFile, postForm, postJson, type Tenant } from '../helpers/face-fixtures.ts';
import { updateSession } from '../../src/db/repositories/sessions.repository.ts';
import { ENROLLMENT_MAX_FRAMES } from '../../src/services/enrollment.service.ts';
import { AUTH_MAX_EMPTY_FRAMES } from '../../src/services/authentication.params.ts';

const OBAMA = 'faces_extra/face_recognition/obama/obama_01.jpg';
const OBAMA2 = 'faces_extra/face_recognition/obama/obama_02.jpg';
const BIDEN = 'faces_extra/face_recognition/biden/biden_01.jpg';
const FRAME = '/api/auth/enrollment/process-frame/';

describe('frames per enrollment session', () => {
  const t = useTestApp(quickBackend(), { engine: true, env: { WAJAH_MASTER_KEY: TEST_MASTER_KEY } });
  let tenant: Tenant;

  async function session(userId: string, body: Record<string, unknown>): Promise<{ token: string; id: string }> {
    const { app } = t();
    tenant ??= await createTenant(app);
    await createUser(app, tenant, userId);
    const res = await postJson(app, '/api/auth/enrollment/create/', tenant, { user_id: userId, quality_threshold: 0.3, ...body });
    assert.equal(res.statusCode, 201, res.body);
    return { token: res.json().session_token, id: res.json().session_id };
  }
  const send = (token: string, image: Buffer) => postForm(t().app, FRAME, tenant, [{ name: 'frame', value: image }], token);
  async function row(id: string) {
    return t().container.database.db.selectFrom('sessions').select(['status', 'state']).where('id', '=', id).executeTakeFirstOrThrow();
  }
  /** The session as if it had analysed `received` frames (only the count moves; what it captured stays). */
  async function analysed(id: string, received: number): Promise<void> {
    const { state } = await row(id);
    await updateSession(t().container.database.db, id, { state: { ...(state as Record<string, unknown>), received } });
  }
  async function stored(userId: string) {
    const { app } = t();
    const res = await app.inject({ method: 'GET', url: `/api/auth/enrollments/?user_id=${userId}`, headers: { authorization: tenant.auth } });
    return res.json().count as number;
  }
  async function failedEvent(sessionId: string) {
    const ev = await t().container.database.db.selectFrom('events').select('payload').where('event_type', '=', 'enrollment.failed').execute();
    return ev.map((e) => e.payload as { session_id: string; user_id: string; error_code: string; attempts: number }).find((p) => p.session_id === sessionId);
  }

  test('the documented default: 300 frames (30 s of tries at 10 frames/s)', () => {
    assert.equal(ENROLLMENT_MAX_FRAMES, 300);
  });

  test("single angle: another person's frames count; past the cap the session ends failed, nothing stored", async () => {
    const { id, token } = await session('CAP_SINGLE', { session_type: 'webcam' });
    let res = await send(token, dataFile(OBAMA));
    assert.equal(res.json().frame_accepted, true, res.body);
    await analysed(id, ENROLLMENT_MAX_FRAMES - 1);
    // The last frame the session analyses: another person, refused, and counted all the same.
    res = await send(token, dataFile(BIDEN));
    assert.equal(res.json().code, 'FACE_MISMATCH', res.body);
    assert.equal((((await row(id)).state) as { received: number }).received, ENROLLMENT_MAX_FRAMES);
    // The next frame (the right person) is not analysed: the session has ended.
    res = await send(token, dataFile(OBAMA2));
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().code, 'ENROLLMENT_FRAME_LIMIT');
    assert.deepEqual(res.json().details, { max_frames: 300, session_status: 'failed' });
    const after = await row(id);
    assert.equal(after.status, 'failed');
    assert.deepEqual((after.state as { frames: unknown[] }).frames, [], 'the captured (sealed) frames are dropped');
    const event = await failedEvent(id);
    assert.equal(event?.error_code, 'ENROLLMENT_FRAME_LIMIT');
    assert.equal(event?.user_id, 'CAP_SINGLE');
    assert.equal(event?.attempts, ENROLLMENT_MAX_FRAMES);
    assert.equal(await stored('CAP_SINGLE'), 0);
    // Over for good: neither frames nor complete.
    res = await send(token, dataFile(OBAMA2));
    assert.equal(res.json().code, 'SESSION_COMPLETED', res.body);
    res = await postJson(t().app, '/api/auth/enrollment/complete/', tenant, {}, token);
    assert.equal(res.json().code, 'SESSION_COMPLETED', res.body);
  });

  test('multi-angle: the same cap; a frame past it is not analysed (even an unreadable one)', async () => {
    const { id, token } = await session('CAP_MULTI', { session_type: 'webcam', require_multiple_angles: true });
    const res0 = await send(token, dataFile(OBAMA));
    assert.equal(res0.json().frame_accepted, true, res0.body);
    await analysed(id, ENROLLMENT_MAX_FRAMES);
    // Analysed, this truncated JPEG would be INVALID_IMAGE.
    const res = await send(token, dataFile(OBAMA).subarray(0, 400));
    assert.equal(res.json().code, 'ENROLLMENT_FRAME_LIMIT', res.body);
    assert.equal(res.json().details.session_status, 'failed');
    assert.equal((await row(id)).status, 'failed');
    assert.equal((await failedEvent(id))?.error_code, 'ENROLLMENT_FRAME_LIMIT');
    assert.equal(await stored('CAP_MULTI'), 0);
  });

  // A frame refused as an image (INVALID_IMAGE) was not counted: one session took such frames (an upload and a
  // decode attempt each) without end. Now every frame the session receives counts; the client is still
  // answered INVALID_IMAGE for the frame itself until the cap.
  test('unreadable frames count toward the cap and are answered INVALID_IMAGE until it is reached', async () => {
    const { id, token } = await session('CAP_JUNK', { session_type: 'webcam' });
    const truncated = dataFile(OBAMA).subarray(0, 400);
    const notAnImage = Buffer.from('this is not a picture of anyone, just some text bytes');
    let res = await send(token, truncated);
    assert.equal(res.json().code, 'INVALID_IMAGE', res.body);
    res = await send(token, notAnImage);
    assert.equal(res.json().code, 'INVALID_IMAGE', res.body);
    assert.equal(((await row(id)).state as { received: number }).received, 2, 'both unreadable frames were counted');
    await analysed(id, ENROLLMENT_MAX_FRAMES - 1);
    // The session's last frame: unreadable, answered as such, and counted.
    res = await send(token, truncated);
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().code, 'INVALID_IMAGE', res.body);
    const at = await row(id);
    assert.equal((at.state as { received: number }).received, ENROLLMENT_MAX_FRAMES);
    assert.equal(at.status, 'active');
    // Past the cap even a junk frame ends the session.
    res = await send(token, notAnImage);
    assert.equal(res.json().code, 'ENROLLMENT_FRAME_LIMIT', res.body);
    assert.equal(res.json().details.session_status, 'failed');
    assert.equal((await row(id)).status, 'failed');
    assert.equal((await failedEvent(id))?.attempts, ENROLLMENT_MAX_FRAMES);
  });

  // Authentication sessions: the same gap in their faceless-frame budget (AUTH_MAX_EMPTY_FRAMES) and, with
  // liveness, on the challenge clock (an unreadable frame never reached it).
  async function authSession(body: Record<string, unknown>): Promise<{ token: string; id: string }> {
    const { app } = t();
    tenant ??= await createTenant(app);
    const res = await postJson(app, '/api/auth/authentication/create/', tenant, { mode: 'identification', ...body });
    assert.equal(res.statusCode, 201, res.body);
    return { token: res.json().session_token, id: res.json().session_id };
  }
  const authFrame = (token: string, image: Buffer) => postForm(t().app, '/api/auth/authentication/process-frame/', tenant, [{ name: 'frame', value: image }], token);

  test('authentication: unreadable frames count as faceless ones; the last ends the session failed', async () => {
    const { id, token } = await authSession({});
    const truncated = dataFile(OBAMA).subarray(0, 400);
    let res = await authFrame(token, truncated);
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().code, 'INVALID_IMAGE', res.body);
    const { state } = await row(id);
    assert.equal((state as { emptyFrames?: number }).emptyFrames, 1, 'the unreadable frame was counted');
    await updateSession(t().container.database.db, id, { state: { ...(state as Record<string, unknown>), emptyFrames: AUTH_MAX_EMPTY_FRAMES - 1 } });
    res = await authFrame(token, truncated);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'failed', res.body);
    assert.equal(res.json().result.failure_reason, 'NO_FACE_DETECTED');
    assert.equal(res.json().face_detected, false);
    res = await authFrame(token, truncated);
    assert.equal(res.json().code, 'SESSION_COMPLETED', res.body);
    const attempts = await t().container.database.db.selectFrom('auth_attempts').select(['failure_reason', 'outcome']).where('session_id', '=', id).execute();
    assert.deepEqual(attempts, [{ failure_reason: 'NO_FACE_DETECTED', outcome: 'failed' }]);
  });

  test('authentication with liveness: an unreadable frame past the challenge window fails the session (its challenge timed out)', async () => {
    const { id, token } = await authSession({ require_liveness: true });
    const truncated = dataFile(OBAMA).subarray(0, 400);
    let res = await authFrame(token, truncated);
    assert.equal(res.json().code, 'INVALID_IMAGE', res.body);
    // The challenge was issued long ago (only its clock moves).
    const { state } = await row(id);
    const s = state as { liveness: { issuedAt: number; timeoutMs: number } };
    await updateSession(t().container.database.db, id, { state: { ...s, liveness: { ...s.liveness, issuedAt: Date.now() - s.liveness.timeoutMs - 1000 } } });
    res = await authFrame(token, truncated);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'failed', res.body);
    assert.equal(res.json().result.failure_reason, 'LIVENESS_FAILED', res.body);
    assert.equal((await row(id)).status, 'failed');
  });

  test('a session that holds enough frames when it reaches the cap stays open and completes', async () => {
    const { id, token } = await session('CAP_READY', { session_type: 'upload' });
    let res = await send(token, dataFile(OBAMA));
    assert.equal(res.json().status, 'ready', res.body);
    await analysed(id, ENROLLMENT_MAX_FRAMES);
    res = await send(token, dataFile(OBAMA2));
    assert.equal(res.json().code, 'ENROLLMENT_FRAME_LIMIT', res.body);
    assert.equal(res.json().details.session_status, 'active');
    res = await postJson(t().app, '/api/auth/enrollment/complete/', tenant, {}, token);
    assert.equal(res.json().status, 'completed', res.body);
    assert.equal(await stored('CAP_READY'), 1);
    assert.equal(await failedEvent(id), undefined);
  });
});
