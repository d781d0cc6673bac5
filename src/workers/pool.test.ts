import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { after, before, test } from 'node:test';
import { testDataDir } from '../config/env.ts';
import { AppError } from '../errors.ts';
import { readMjpegFrames } from '../vision/mjpeg.ts';
import { WorkerPool } from './pool.ts';
import { forWorker, handOver } from './transfer.ts';

const img = readFileSync(path.join(testDataDir(), 'lfw/Ai_Sugiyama/Ai_Sugiyama_0001.jpg'));
let pool: WorkerPool;

before(async () => {
  pool = await WorkerPool.start({ workers: 1, queueSize: 2, jobTimeoutMs: 60_000 });
});
after(async () => {
  await pool.close();
});

test('a worker that dies is replaced and its job fails with INTERNAL_ERROR', async () => {
  await assert.rejects(pool.crashOneWorker(3), (e: unknown) => e instanceof AppError && e.code === 'INTERNAL_ERROR');
  // The replacement loads its models, then serves as before.
  const r = await pool.analyze(img, { multiple: 'largest', embed: true });
  assert.equal(r.faces.length, 1);
  const s = pool.stats();
  assert.equal(s.restarts, 1);
  assert.equal(s.ready, 1);
});

test('a handed-over image moves into the worker (no copy); any other image is copied and stays usable', async () => {
  const kept = new Uint8Array(img);
  const moved = handOver(img);
  assert.equal(moved.byteLength, img.byteLength);
  const [a, b] = await Promise.all([pool.analyze(kept, { multiple: 'largest', embed: true }), pool.analyze(moved, { multiple: 'largest', embed: true })]);
  assert.equal(moved.byteLength, 0, 'the handed-over buffer was transferred (detached here)');
  assert.equal(kept.byteLength, img.byteLength, 'an ordinary buffer is copied');
  // Same face and embedding either way; the embedding came back moved, intact.
  assert.deepEqual(b.faces[0].box, a.faces[0].box);
  assert.equal(b.faces[0].embedding!.length, 512);
  assert.deepEqual([...b.faces[0].embedding!], [...a.faces[0].embedding!]);
});

/** What a worker receives when `bytes` is posted to it: the ArrayBuffer that arrives. */
async function received(bytes: Uint8Array): Promise<ArrayBuffer> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<Uint8Array>((resolve) => port2.once('message', resolve));
  port1.postMessage(bytes);
  const m = await got;
  port1.close();
  return m.buffer as ArrayBuffer;
}

test('a frame that is a view into a whole video file goes to the worker as its own bytes, not the file', async () => {
  const file = readFileSync(path.join(testDataDir(), 'video/fakecam/liveportrait_d9_512x480_30fps.mjpeg'));
  const frame = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/liveportrait_d9_512x480_30fps.mjpeg'))[3];
  assert.ok(frame.buffer.byteLength > 100 * frame.byteLength, 'a frame cut out of the file shares its buffer');
  const job = forWorker(frame);
  const posted = job.image as Uint8Array;
  assert.equal(posted.buffer.byteLength, frame.byteLength, 'only the frame is posted (postMessage copies a view\'s whole buffer)');
  assert.ok(Buffer.from(posted).equals(frame));
  assert.deepEqual(job.transfer, []);
  // What a worker receives: the frame's bytes, where posting the view itself carries the whole file.
  assert.equal((await received(posted)).byteLength, frame.byteLength);
  assert.equal((await received(frame)).byteLength, file.length);
  // Small buffers and whole ones go as they are; a handed-over one is moved.
  assert.equal(forWorker(img).image, img);
  const moved = handOver(img);
  assert.deepEqual(forWorker(moved).transfer, [moved.buffer]);
});

test('stream frames queued together run as one batch, with the same results as one at a time', async () => {
  const clip = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg')).filter((_, i) => i % 2 === 0).slice(0, 4);
  const [single, batched] = await Promise.all([WorkerPool.start({ workers: 1, queueSize: 16, maxBatch: 1 }), WorkerPool.start({ workers: 1, queueSize: 16, maxBatch: 4 })]);
  try {
    // Frame 0 starts each of 4 streams' tracks; frames 1 follow them: 4 tracked frames queued at once.
    // Each new track's detector turn has its own phase (newTrackSinceDetect); here every track starts its
    // count at 0, so frame 1 is a followed frame on all four.
    const starts = (await Promise.all(clip.map((f) => single.analyzeTracked(f, { multiple: 'largest', embed: true }, null)))).map((s) => ({ ...s, track: { ...s.track!, sinceDetect: 0 } }));
    const follow = (pool: WorkerPool) => Promise.all(clip.map((f, i) => pool.analyzeTracked(clip[(i + 1) % clip.length], { multiple: 'largest', embed: true }, starts[i].track)));
    const [a, b] = [await follow(single), await follow(batched)];
    // Two frames of one stream in one batch share their track's last embedding: both come back whole.
    const same = await Promise.all([0, 1, 2].map(() => batched.analyzeTracked(clip[1], { multiple: 'largest', embed: true }, a[0].track)));
    for (const r of same) {
      assert.equal(r.result.tracking!.embedded, false, 'the track\'s last embedding is reused');
      assert.deepEqual([...r.track!.embedding!], [...a[0].track!.embedding!]);
    }
    assert.equal(single.stats().batchedFrames, 0);
    assert.equal(batched.stats().batchedFrames, 3 + 2, 'the first frame went alone to the free worker, those queued behind it as one batch');
    for (let i = 0; i < clip.length; i++) {
      assert.equal(b[i].result.tracking!.detected, false, 'followed, not detected');
      assert.deepEqual(b[i].result.faces[0].box, a[i].result.faces[0].box);
      assert.deepEqual(b[i].result.faces[0].pose, a[i].result.faces[0].pose);
      assert.deepEqual(b[i].track, a[i].track);
    }
  } finally {
    await Promise.all([single.close(), batched.close()]);
  }
});

test('a full queue fails fast with SERVICE_BUSY and Retry-After', async () => {
  const jobs = Array.from({ length: 6 }, () => pool.analyze(img, { multiple: 'largest', embed: false }));
  const settled = await Promise.allSettled(jobs);
  const busy = settled.filter((s) => s.status === 'rejected');
  // One running + two queued succeed; the other three are refused at once.
  assert.equal(settled.filter((s) => s.status === 'fulfilled').length, 3);
  assert.equal(busy.length, 3);
  for (const b of busy) {
    const e = (b as PromiseRejectedResult).reason;
    assert.ok(e instanceof AppError && e.code === 'SERVICE_BUSY' && e.statusCode === 503);
    assert.equal(e.headers?.['Retry-After'], '1');
  }
});

test('errors thrown in the worker arrive as AppError with the same code', async () => {
  await assert.rejects(pool.analyze(Buffer.from('GIF89a....'), { multiple: 'largest', embed: false }), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_MEDIA_TYPE');
  await assert.rejects(pool.analyze(img, { multiple: 'largest', embed: true, model: 'nope' }), (e: unknown) => e instanceof AppError && e.code === 'VALIDATION_ERROR');
});

test('a job that hangs past jobTimeoutMs kills its worker, which is replaced', async () => {
  const small = await WorkerPool.start({ workers: 1, queueSize: 4, jobTimeoutMs: 1500 });
  try {
    const t = Date.now();
    await assert.rejects(small.blockOneWorker(60_000), (e: unknown) => e instanceof AppError && e.code === 'INTERNAL_ERROR');
    assert.ok(Date.now() - t < 10_000);
    const r = await small.analyze(img, { multiple: 'largest', embed: false });
    assert.equal(r.faces.length, 1);
    assert.equal(small.stats().restarts, 1);
  } finally {
    await small.close();
  }
});

test('each frame of a batch is answered as soon as it is finished, cheapest first, not when the whole batch is', async () => {
  const clip = readMjpegFrames(path.join(testDataDir(), 'video/fakecam/talking_blink_aoc_512x512_25fps.mjpeg')).filter((_, i) => i % 2 === 0).slice(0, 3);
  // An empty picture analysed from no track runs the whole detector and its wide search (tens of ms).
  const grey = await sharp({ create: { width: 640, height: 360, channels: 3, background: '#7a7a7a' } }).jpeg().toBuffer();
  const batched = await WorkerPool.start({ workers: 1, queueSize: 16, maxBatch: 4 });
  try {
    const start = await batched.analyzeTracked(clip[0], { multiple: 'largest', embed: true }, null);
    const follow = await batched.analyzeTracked(clip[1], { multiple: 'largest', embed: true }, start.track);
    // The worker busy with a first frame, then three queued: the empty one first, then two followed frames.
    const at: number[] = [];
    const done = (i: number) => () => (at[i] = performance.now());
    const first = batched.analyzeTracked(clip[0], { multiple: 'largest', embed: true }, null);
    const queued = [
      batched.analyzeTracked(grey, { multiple: 'largest', embed: true }, null).then(() => assert.fail('no face'), done(2)),
      batched.analyzeTracked(clip[2], { multiple: 'largest', embed: true }, follow.track).then(done(0)),
      batched.analyzeTracked(clip[2], { multiple: 'largest', embed: true }, follow.track).then(done(1)),
    ];
    await first;
    await Promise.all(queued);
    assert.equal(batched.stats().batchedFrames, 3, 'the three queued frames ran as one batch');
    // The followed frames (queued behind it) came back while the worker was still searching the empty picture.
    assert.ok(at[2] - Math.max(at[0], at[1]) >= 10, `answers at +${(at[0] - at[2]).toFixed(1)}, +${(at[1] - at[2]).toFixed(1)} ms from the last`);
  } finally {
    await batched.close();
  }
});

test("lanes take turns: one tenant's queued images do not hold up another's, and each lane keeps its order", async () => {
  const fair = await WorkerPool.start({ workers: 1, queueSize: 16, jobTimeoutMs: 60_000 });
  try {
    const done: string[] = [];
    const run = (name: string, lane: string) => fair.analyze(img, { multiple: 'largest', embed: true, lane }).then(() => done.push(name));
    // Tenant A queues six images at once (a batch), then tenant B one: B's waits for A's first two only
    // (the one running and the next in turn), not for all six.
    await Promise.all([...[1, 2, 3, 4, 5, 6].map((i) => run(`A${i}`, 'tenant-a')), run('B1', 'tenant-b')]);
    assert.deepEqual(done, ['A1', 'A2', 'B1', 'A3', 'A4', 'A5', 'A6']);
  } finally {
    await fair.close();
  }
});
