/**
 * What users run: N simultaneous 10 frames/s camera streams over the real `/ws/recognition/` endpoint.
 *
 *   npm run bench -- --streams [--workers N] [--seconds S] [--warmup W] [--max-streams M] [--steps N1,N2,…] [--fps F] [--modes full,tracking,binary] [--retries R] [--profile-http FILE] [--json]
 *
 * Starts the server (embedded database, real face engine, real port), enrolls the person of each clip in
 * ../shared/data/video/fakecam from the clip's first frame, then in ONE run (so the numbers compare as
 * ratios on one machine, whatever else it is doing):
 *   1. the engine's full-pipeline frames/s (decode, detect, mesh, embed per frame; all workers busy);
 *   2. `http_verify_rps_c8`: one-shot POST /api/auth/authentication/verify/ from 8 concurrent clients,
 *      bracketed by the engine on the same image for as long (`http_verify_ratio_to_engine_same_image`);
 *   3. for each mode — `full` (JSON data URLs, `options.tracking: false`: the full pipeline and a record
 *      on every frame, what streams did before issue 11), `tracking` (JSON data URLs, tracking on) and
 *      `binary` (binary frames, tracking on: docs/realtime.md, "Binary frames") — N = 1, 2,
 *      3, …, 12, 14, …, 40, 44, 48, 56, 64 streams (the modes taking turns at each N), each playing a clip at 10 frames/s
 *      (identification mode) for W + S seconds (W = 1 by default);
 *      per-frame result latency p50/p95, frames dropped (frame_dropped or never answered), errors and
 *      how often the clip's own person was the top match, over the S seconds after each camera's first
 *      W: the load the cameras keep up. Each camera's first W seconds (its joining, with all N cameras
 *      of the step joining within 100 ms: a restart's reconnect storm) are reported beside them, and
 *      with every frame counted, as the benchmark did before `--warmup` (`--warmup 0` is that measure).
 *      A mode stops at the first N that misses p95 ≤ 200 ms with ≤ 1 % dropped R + 1 times in a row
 *      (default R = 1: one replay of a missed step; `max_streams_p95_200ms` is the last N that made it,
 *      `max_streams_p95_200ms_with_start` the last N that made it with every frame of the step counted).
 * `--steps` plays only the listed N (to profile one load, e.g. `--steps 20 --modes tracking`): the limit it
 * reports is then the largest listed N that made it.
 * The clients (the cameras and the HTTP callers) run in a thread of their own (lib/stream-clients.ts), as
 * real clients run on machines of their own: the server's main thread is measured alone. Each phase also
 * reports the CPU time per frame (or request) of each kind of thread (lib/thread-cpu.ts): the server's
 * main thread, the inference workers, V8's helper threads, the clients' thread (sharing the cores as
 * real clients would not) and the rest: what bounds the ratios on a machine with few cores.
 * `--profile-http FILE` writes the server main thread's CPU profile of the HTTP verify phase (open it in
 * Chrome's DevTools, or summarise it): where the server's own work per request goes.
 * With --json the last line is one JSON object.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../src/config/env.ts';
import { createContainer } from '../src/container.ts';
import { buildApp } from '../src/app.ts';
import { multipart, postForm } from '../test/helpers/face-fixtures.ts';
import { FAKECAM_CLIPS, streamFrames } from './lib/fakecam.ts';
import type { HttpRunReport, StreamMode, StreamRunReport, StreamRunRequest } from './lib/stream-clients.ts';
import { cpuPerUnit, sampleThreads } from './lib/thread-cpu.ts';

const argv = process.argv.slice(2);
const num = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const workers = num('workers', Math.max(1, os.availableParallelism()));
const SECONDS = num('seconds', 6);
// A camera's first second is its joining: a transient whose weight in a step would otherwise depend on the
// step's length (docs/stream-performance.md, "Sustained load and joining").
const WARMUP = num('warmup', 1);
const MAX_STREAMS = num('max-streams', 64);
const FPS = num('fps', 10);
const RETRIES = num('retries', 1);
const json = argv.includes('--json');
const profileHttpArg = argv.indexOf('--profile-http');
const PROFILE_HTTP = profileHttpArg >= 0 ? argv[profileHttpArg + 1] : null;
type Mode = StreamMode;
const modesArg = argv.indexOf('--modes');
const modes: Mode[] = modesArg >= 0 ? (argv[modesArg + 1].split(',') as Mode[]) : argv.includes('--tracking-only') ? ['tracking'] : argv.includes('--full-only') ? ['full'] : ['full', 'tracking', 'binary'];
const ADMIN = 'bench-admin-token-0123456789';
// One stream at a time up to 12, two at a time up to 40, then at most a sixth more: a step is never more
// than 1/6 of the streams below it, so neither mode's limit (nor their ratio) is rounded down by a wide gap
// between steps. The default ceiling (64) is above what two cores reach: a ceiling of 32 cut the tracked
// modes' limit (and the ratio) short on runs where they made 32.
const stepsArg = argv.indexOf('--steps');
const STEPS = (stepsArg >= 0 ? argv[stepsArg + 1].split(',').map(Number) : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 44, 48, 56, 64]).filter((n) => n <= MAX_STREAMS);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => (json ? console.error(s) : console.log(s));
const cpuText = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ');

const config = loadConfig({ LOG_LEVEL: 'silent', WAJAH_ADMIN_TOKEN: ADMIN, WAJAH_WORKERS: String(workers), WAJAH_MASTER_KEY: 'b'.repeat(64), WAJAH_QUEUE_SIZE: '256' });
const container = await createContainer(config, { engine: true, pgliteDir: 'memory://', log: { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) } });
const app = await buildApp(config, container);
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as AddressInfo).port;
const url = `ws://127.0.0.1:${port}/ws/recognition/`;

interface Clip {
  user: string;
  /** Every other frame of a 25–30 fps clip (≈ 10–15 fps of real motion), each in a buffer of its own. */
  jpegs: Buffer[];
}

const loadAtStart = os.loadavg().map(r1);
try {
  log(`stream-bench: ${workers} inference worker(s) on ${os.availableParallelism()} cores, ${FPS} fps streams of ${SECONDS} s; load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const clips: Clip[] = FAKECAM_CLIPS.map((file, i) => {
    // A frame cut out of its clip file is a view of the whole file: copied out, as a camera's would be.
    return { user: `person${i}`, jpegs: streamFrames(file).map((f) => Buffer.copyBytesFrom(f)) };
  });
  const created = await app.inject({ method: 'POST', url: '/api/admin/clients/', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name: 'stream-bench', tier: 'enterprise' } });
  const { api_key, secret_key, client_id } = created.json() as { api_key: string; secret_key: string; client_id: string };
  const tenant = { clientId: client_id, auth: `ApiKey ${api_key}:${secret_key}` };
  for (const c of clips) {
    await app.inject({ method: 'POST', url: '/api/clients/users/', headers: { authorization: tenant.auth }, payload: { external_id: c.user, name: c.user } });
    const enrolled = await postForm(app, '/api/auth/enrollment/direct/', tenant, [{ name: 'user_id', value: c.user }, { name: 'quality_threshold', value: '0.2' }, { name: 'image', value: c.jpegs[0], filename: 'a.jpg' }]);
    if (enrolled.statusCode !== 201) throw new Error(`enroll ${c.user}: ${enrolled.body}`);
  }

  // 1. Engine full pipeline, all workers busy.
  const engine = container.engine!;
  const sample = clips.flatMap((c) => c.jpegs.slice(0, 24));
  await Promise.all(sample.slice(0, workers * 4).map((f) => engine.analyze(f, { multiple: 'largest', embed: true }).catch(() => null)));
  /**
   * The engine's full-pipeline frames/s with all workers busy: workers × 3 callers, each sending its next
   * frame as soon as the previous one is answered (one-shot verify's options), over `frames` once or,
   * with `seconds`, round and round until that much time has passed.
   */
  const engineRate = async (frames: Uint8Array[], seconds = 0) => {
    const t0 = performance.now(), cpu0 = sampleThreads(), until = t0 + seconds * 1000;
    let next = 0;
    await Promise.all(
      Array.from({ length: workers * 3 }, async () => {
        while (seconds ? performance.now() < until : next < frames.length) await engine.analyze(frames[next++ % frames.length], { multiple: 'largest', embed: true }).catch(() => null);
      }),
    );
    return { fps: next / ((performance.now() - t0) / 1000), cpu: cpuPerUnit(cpu0, sampleThreads(), next, -1) };
  };
  const { fps: engineFps, cpu: engineCpu } = await engineRate(sample);
  log(`engine full pipeline: ${r1(engineFps)} frames/s (${sample.length} frames of the clips, ${workers} workers); CPU ms per frame ${cpuText(engineCpu)}`);

  // The clients' own thread (lib/stream-clients.ts): the HTTP callers and the cameras.
  const clientThread = new Worker(new URL('./lib/stream-clients.ts', import.meta.url), { workerData: { url, apiKey: api_key, secretKey: secret_key, seconds: SECONDS, warmup: WARMUP, fps: FPS } });
  clientThread.unref(); // idle between steps; the run ends without it
  const clientTid = await new Promise<number>((resolve) => clientThread.once('message', (m: { tid: number }) => resolve(m.tid)));
  const play = <R>(req: StreamRunRequest, onStarted: () => void = () => {}) =>
    new Promise<R>((resolve, reject) => {
      const onMessage = (m: { type: 'started' } | { type: 'done'; report: R } | { type: 'failed'; error: string }) => {
        if (m.type === 'started') return onStarted();
        clientThread.off('message', onMessage);
        clientThread.off('error', reject);
        if (m.type === 'done') resolve(m.report);
        else reject(new Error(m.error));
      };
      clientThread.on('message', onMessage);
      clientThread.once('error', reject);
      clientThread.postMessage(req);
    });

  // 2. One-shot verify over HTTP, 8 concurrent clients, on a real port.
  const verifyImage = clips[0].jpegs[10];
  const verifyBody = await multipart([{ name: 'user_id', value: clips[0].user }, { name: 'image', value: verifyImage, filename: 'f.jpg' }]);
  // The engine on the very image the callers send, for as long as they send it, just before and just after
  // them: the clips' figure above is 120 different frames in under a second, whose cost per frame is not
  // that image's, and a machine's speed drifts between phases (docs/stream-performance.md: two runs ten minutes apart
  // measured the engine at 168.6 and 111.1 frames/s). The ratio to these two is the like-for-like one.
  const verifySeconds = Math.max(4, SECONDS);
  const engineBefore = await engineRate([verifyImage], verifySeconds);
  // The main thread's own profile of this phase (--profile-http): sampled by V8 in this thread only.
  const profiler = PROFILE_HTTP ? new Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const httpCpu0 = sampleThreads();
  const http = await play<HttpRunReport>({ kind: 'http', clients: 8, seconds: Math.max(4, SECONDS), url: `http://127.0.0.1:${port}/api/auth/authentication/verify/`, headers: { ...verifyBody.headers, authorization: tenant.auth }, body: new Uint8Array(verifyBody.payload) });
  const { latency: httpLatency, failed: httpFailed } = http;
  const httpRps = http.ok / http.seconds;
  // Where the cores went per request (the callers' thread shares them: real callers would not).
  const httpCpu = cpuPerUnit(httpCpu0, sampleThreads(), http.ok + http.failed, clientTid);
  // After the CPU sample: stopping the profiler and writing its file is not the phase's work.
  if (profiler && PROFILE_HTTP) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(PROFILE_HTTP, JSON.stringify(profile));
    profiler.disconnect();
    log(`http verify: the main thread's CPU profile of this phase is in ${PROFILE_HTTP}`);
  }
  log(`http verify, 8 concurrent clients: ${r1(httpRps)} requests/s (${r1((100 * httpRps) / engineFps)} % of the engine's frames/s), p50 ${r1(quantile(httpLatency, 0.5))} ms p95 ${r1(quantile(httpLatency, 0.95))} ms, ${httpFailed} failed; CPU ms per request ${cpuText(httpCpu)}`);
  const engineAfter = await engineRate([verifyImage], verifySeconds);
  const engineSameImage = (engineBefore.fps + engineAfter.fps) / 2;
  log(`engine on the verify's own image, ${verifySeconds} s just before and just after: ${r1(engineBefore.fps)} / ${r1(engineAfter.fps)} frames/s (CPU ms per frame ${cpuText(engineBefore.cpu)}); http verify = ${r1((100 * httpRps) / engineSameImage)} % of their mean`);

  /** The engine's work so far, from the server's own metrics (wajah_inference_duration_seconds): seconds per stage and images. */
  const engineSeconds = async () => {
    const metric = await container.metrics.registry.getSingleMetric('wajah_inference_duration_seconds')!.get();
    const sum: Record<string, number> = {};
    let count = 0;
    for (const v of metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>) {
      const stage = String(v.labels.stage);
      if (v.metricName?.endsWith('_sum')) sum[stage] = v.value;
      if (v.metricName?.endsWith('_count') && stage === 'total') count = v.value;
    }
    return { sum, count };
  };

  // 3. N streams, played by the clients' thread.
  const streamRun = async (n: number, mode: Mode) => {
    // How busy the server's main thread was (its WebSocket, services and embedded database): 1 = never idle.
    // Measured from the moment every camera is connected and authenticated.
    let elu0 = performance.eventLoopUtilization();
    let engine0P = engineSeconds();
    let wall0 = performance.now();
    let cpu0 = sampleThreads();
    const perStream = Math.round(SECONDS * FPS);
    const { latency, results, dropped, errors, errorCodes, matched, start } = await play<StreamRunReport>({ kind: 'streams', n, mode }, () => {
      elu0 = performance.eventLoopUtilization();
      engine0P = engineSeconds();
      wall0 = performance.now();
      cpu0 = sampleThreads();
    });
    const cpu1 = sampleThreads();
    const engine0 = await engine0P;
    const mainThreadBusy = Math.round(performance.eventLoopUtilization(elu0).utilization * 100) / 100;
    const engine1 = await engineSeconds();
    const analysed = engine1.count - engine0.count;
    const perFrame = (stage: string) => r1(((engine1.sum[stage] ?? 0) - (engine0.sum[stage] ?? 0)) * 1000 / Math.max(1, analysed));
    const engineStats = {
      frames: analysed,
      // Worker time per analysed frame by stage (a batched mesh pass shared out), and time waiting for a worker.
      ms_per_frame: { total: perFrame('total'), decode: perFrame('decode'), detect: perFrame('detect'), embed: perFrame('embed'), quality: perFrame('quality'), queue_wait: perFrame('queue') },
      workers_busy: Math.round((((engine1.sum.total ?? 0) - (engine0.sum.total ?? 0)) * 1000 / (workers * (performance.now() - wall0))) * 100) / 100,
    };
    const frames = n * perStream;
    // The CPU and the engine's figures cover the whole step, the cameras' first seconds included.
    const cpu = cpuPerUnit(cpu0, cpu1, frames + start.frames, clientTid);
    const all = [...start.latency, ...latency];
    const allDropped = dropped + start.dropped;
    return {
      streams: n, frames, results, dropped, drop_pct: r1((100 * dropped) / frames), errors, error_codes: errorCodes, matched_pct: r1((100 * matched) / Math.max(1, results)), p50_ms: r1(quantile(latency, 0.5)), p95_ms: r1(quantile(latency, 0.95)),
      start: { frames: start.frames, dropped: start.dropped, p50_ms: r1(quantile(start.latency, 0.5)), p95_ms: r1(quantile(start.latency, 0.95)) },
      with_start: { frames: frames + start.frames, dropped: allDropped, drop_pct: r1((100 * allDropped) / (frames + start.frames)), p95_ms: r1(quantile(all, 0.95)) },
      main_thread_busy: mainThreadBusy, cpu_ms_per_frame: cpu, engine: engineStats,
    };
  };

  const byMode: Record<string, { max: number; max_with_start: number; attempts_per_100_frames: number; runs: Array<Awaited<ReturnType<typeof streamRun>>> }> = {};
  // Attempts written (auth_attempts rows): one per frame before issue 11, one per person appearance now.
  const attemptRows = async () => Number((await container.database.db.selectFrom('auth_attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
  // The modes take turns at each N (in alternating order), so a change in the machine's other load
  // during the run falls on all of them alike.
  for (const name of modes) await streamRun(1, name); // warm-up (JIT, first-use paths)
  await sleep(300);
  // withStart: the same limit with every frame of a step counted (the cameras' joining included); it
  // ends at the first N none of whose plays made it.
  const state = Object.fromEntries(modes.map((m) => [m, { max: 0, failed: false, withStart: 0, withStartFailed: false, attempts: 0, frames: 0, runs: [] as Array<Awaited<ReturnType<typeof streamRun>>> }]));
  for (const [step, n] of STEPS.entries()) {
    const active = modes.filter((m) => !state[m].failed);
    if (active.length === 0) break;
    for (const name of step % 2 ? [...active].reverse() : active) {
      const st = state[name];
      // A step that misses is played once more (RETRIES): on a shared host one burst of other work
      // can fail a step; a mode stops when the step misses every time.
      let withStartOk = false;
      for (let attempt = 0; attempt <= RETRIES; attempt++) {
        const before = await attemptRows();
        const r = await streamRun(n, name);
        await sleep(300); // an appearance's failure is written after its connection closes
        st.attempts += (await attemptRows()) - before;
        st.frames += r.with_start.frames;
        st.runs.push(r);
        const ok = r.p95_ms <= 200 && r.drop_pct <= 1;
        withStartOk ||= r.with_start.p95_ms <= 200 && r.with_start.drop_pct <= 1;
        const again = !ok && attempt < RETRIES;
        log(`${name.padEnd(8)} ${String(n).padStart(3)} streams: p50 ${r.p50_ms} ms p95 ${r.p95_ms} ms, dropped ${r.dropped}/${r.frames} (${r.drop_pct} %), errors ${r.errors} ${JSON.stringify(r.error_codes)}, own person top ${r.matched_pct} %, main thread busy ${Math.round(r.main_thread_busy * 100)} %, workers busy ${Math.round(r.engine.workers_busy * 100)} % (${r.engine.ms_per_frame.total} ms/frame, waited ${r.engine.ms_per_frame.queue_wait} ms), CPU ms per frame ${cpuText(r.cpu_ms_per_frame)}${WARMUP > 0 ? `; first ${WARMUP} s: p95 ${r.start.p95_ms} ms, dropped ${r.start.dropped}/${r.start.frames}, every frame p95 ${r.with_start.p95_ms} ms` : ''}${ok ? '' : again ? '  ← missed, playing it once more' : '  ← over p95 200 ms or 1 % dropped'}; load ${r1(os.loadavg()[0])}`);
        if (ok) {
          st.max = n;
          break;
        }
        if (!again) st.failed = true;
      }
      if (!st.withStartFailed && withStartOk) st.withStart = n;
      else st.withStartFailed = true;
    }
  }
  for (const name of modes) {
    const st = state[name];
    const perHundred = r1((100 * st.attempts) / Math.max(1, st.frames));
    log(`${name.padEnd(8)} attempts written: ${perHundred} per 100 frames`);
    byMode[name] = { max: st.max, max_with_start: st.withStart, attempts_per_100_frames: perHundred, runs: st.runs };
  }
  const status = engine.status() as unknown as Record<string, unknown>;
  const report = {
    workers,
    cores: os.availableParallelism(),
    stream_fps: FPS,
    stream_seconds: SECONDS,
    stream_warmup_seconds: WARMUP,
    engine_fps: r1(engineFps),
    engine_cpu_ms_per_frame: engineCpu,
    http_verify_rps_c8: r1(httpRps),
    http_verify_ratio_to_engine: Math.round((httpRps / engineFps) * 100) / 100,
    engine_fps_verify_image_before_after: [r1(engineBefore.fps), r1(engineAfter.fps)],
    http_verify_ratio_to_engine_same_image: Math.round((httpRps / engineSameImage) * 100) / 100,
    http_verify_p95_ms: r1(quantile(httpLatency, 0.95)),
    http_verify_cpu_ms_per_request: httpCpu,
    max_streams_p95_200ms: Math.max(...Object.values(byMode).map((m) => m.max)),
    ...Object.fromEntries(Object.entries(byMode).map(([k, v]) => [`max_streams_p95_200ms_${k}`, v.max])),
    ...Object.fromEntries(
      Object.entries(byMode)
        .filter(([k]) => k !== 'full' && byMode.full)
        .map(([k, v]) => [`streams_ratio_${k}_to_full`, byMode.full.max ? r1(v.max / byMode.full.max) : null]),
    ),
    ...Object.fromEntries(Object.entries(byMode).map(([k, v]) => [`max_streams_p95_200ms_with_start_${k}`, v.max_with_start])),
    ...Object.fromEntries(
      Object.entries(byMode)
        .filter(([k]) => k !== 'full' && byMode.full)
        .map(([k, v]) => [`streams_ratio_${k}_to_full_with_start`, byMode.full.max_with_start ? r1(v.max_with_start / byMode.full.max_with_start) : null]),
    ),
    runs: byMode,
    engine_tracking_counters: status.tracking ?? null,
    load_avg_at_start: loadAtStart,
    load_avg_1m: r1(os.loadavg()[0]),
  };
  log(`max streams with p95 ≤ 200 ms and ≤ 1 % dropped: ${Object.entries(byMode).map(([k, v]) => `${k} ${v.max}`).join(', ')} (after each camera's first ${WARMUP} s); every frame counted: ${Object.entries(byMode).map(([k, v]) => `${k} ${v.max_with_start}`).join(', ')}`);
  if (json) console.log(JSON.stringify(report));
} finally {
  await app.close();
  await container.close();
}
