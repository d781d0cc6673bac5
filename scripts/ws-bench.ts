/**
 * Frames/s of one `/ws/recognition/` stream on this machine.
 *
 *   node scripts/ws-bench.ts [--workers N] [--json]
 *
 * Starts the server (embedded database, real face engine) on a local port, enrolls the person of
 * `video/fakecam/personA_live_headturn_640x360_15fps.mjpeg` from its first frame, then plays the clip
 * over one WebSocket in identification mode:
 *   1. saturated: the next frame is sent as soon as an answer arrives, 2 in flight (the server's
 *      limit), so nothing is dropped: the stream's ceiling in frames/s;
 *   2. paced at 15 and 10 frames/s, like a camera page: frames answered, frames dropped, latency.
 */
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadConfig, testDataDir } from '../src/config/env.ts';
import { createContainer } from '../src/container.ts';
import { buildApp } from '../src/app.ts';
import { readMjpegFrames } from '../src/vision/mjpeg.ts';
import { WsClient, jpegDataUrl } from '../test/helpers/ws-client.ts';
import { postForm } from '../test/helpers/face-fixtures.ts';

const argv = process.argv.slice(2);
const workersArg = argv.indexOf('--workers');
const workers = workersArg >= 0 ? Number(argv[workersArg + 1]) : Math.max(1, os.availableParallelism());
const CLIP = 'video/fakecam/personA_live_headturn_640x360_15fps.mjpeg';
const ADMIN = 'bench-admin-token-0123456789';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN, WAJAH_WORKERS: String(workers), WAJAH_MASTER_KEY: 'b'.repeat(64) });
const container = await createContainer(config, { engine: true, pgliteDir: 'memory://', log: { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) } });
const app = await buildApp(config, container);
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws/recognition/`;

try {
  const frames = readMjpegFrames(path.join(testDataDir(), CLIP)).map((f) => jpegDataUrl(f));
  const created = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name: 'ws-bench', tier: 'enterprise' } });
  const { api_key, secret_key, client_id } = created.json() as { api_key: string; secret_key: string; client_id: string };
  const tenant = { clientId: client_id, auth: `ApiKey ${api_key}:${secret_key}` };
  await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: tenant.auth }, payload: { external_id: 'personA', name: 'Person A' } });
  const first = Buffer.from(frames[0].split(',')[1], 'base64');
  const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: 'personA' }, { name: 'quality_threshold', value: '0.2' }, { name: 'image', value: first, filename: 'a.jpg' }]);
  if (enrolled.statusCode !== 201) throw new Error(`enroll: ${enrolled.body}`);

  const client = await WsClient.authenticated(url, api_key, secret_key);
  const send = (i: number) => client.send({ type: 'process_frame', frame: frames[i % frames.length], timestamp: i, options: { mode: 'identification' } });

  // Warm-up (worker start-up, JIT).
  for (let i = 0; i < 6; i++) {
    send(i);
    await client.next(60_000);
  }

  // 1. Saturated, 2 in flight.
  const sentAt = new Map<number, number>();
  const outcome = { results: 0, matched: 0, errors: new Map<string, number>(), dropped: 0, latency: [] as number[] };
  const reset = () => Object.assign(outcome, { results: 0, matched: 0, errors: new Map(), dropped: 0, latency: [] });
  const take = async () => {
    const m = await client.next(60_000);
    const ts = 'timestamp' in m && typeof m.timestamp === 'number' ? m.timestamp : -1;
    if (m.type === 'recognition_result') {
      outcome.results++;
      outcome.latency.push(performance.now() - sentAt.get(ts)!);
      const top = (m.result as { result?: { matches?: Array<{ user_id: string }> } }).result?.matches?.[0]?.user_id;
      if (top === 'personA') outcome.matched++;
    } else if (m.type === 'frame_dropped') outcome.dropped++;
    else if (m.type === 'error') outcome.errors.set(m.code, (outcome.errors.get(m.code) ?? 0) + 1);
  };
  const N = frames.length;
  let t0 = performance.now();
  let next = 0;
  for (; next < 2; next++) {
    sentAt.set(next, performance.now());
    send(next);
  }
  for (let answered = 0; answered < N; answered++) {
    await take();
    if (next < N) {
      sentAt.set(next, performance.now());
      send(next++);
    }
  }
  const saturatedSeconds = (performance.now() - t0) / 1000;
  const saturated = { frames: N, fps: r1(N / saturatedSeconds), results: outcome.results, matched: outcome.matched, errors: Object.fromEntries(outcome.errors), p50_ms: r1(quantile(outcome.latency, 0.5)), p95_ms: r1(quantile(outcome.latency, 0.95)) };

  // 2. Paced like a camera.
  const paced = [];
  for (const fps of [15, 10]) {
    reset();
    sentAt.clear();
    const count = fps === 15 ? N : Math.min(N, 100);
    t0 = performance.now();
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / fps;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(i, performance.now());
      send(i);
      pending.push(take());
    }
    await Promise.all(pending);
    const seconds = (performance.now() - t0) / 1000;
    paced.push({ offered_fps: fps, frames: count, results: outcome.results, result_fps: r1(outcome.results / seconds), dropped: outcome.dropped, matched: outcome.matched, errors: Object.fromEntries(outcome.errors), p50_ms: r1(quantile(outcome.latency, 0.5)), p95_ms: r1(quantile(outcome.latency, 0.95)) });
  }
  client.close();

  const report = { clip: CLIP, workers, cores: os.availableParallelism(), saturated, paced };
  if (argv.includes('--json')) console.log(JSON.stringify(report));
  else {
    console.log(`ws-bench: ${CLIP}, ${N} frames 640x360, ${workers} inference worker(s) on ${report.cores} cores`);
    console.log(`saturated (2 in flight): ${saturated.fps} frames/s, latency p50 ${saturated.p50_ms} ms p95 ${saturated.p95_ms} ms, personA top match ${saturated.matched}/${saturated.results}, errors ${JSON.stringify(saturated.errors)}`);
    for (const p of paced) {
      console.log(`paced ${p.offered_fps} fps: ${p.results}/${p.frames} answered with a result (${p.result_fps}/s), dropped ${p.dropped}, latency p50 ${p.p50_ms} ms p95 ${p.p95_ms} ms, personA ${p.matched}, errors ${JSON.stringify(p.errors)}`);
    }
  }
} finally {
  await app.close();
  await container.close();
}
