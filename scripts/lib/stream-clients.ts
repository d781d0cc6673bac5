/**
 * The clients of `npm run bench -- --streams`, in a thread of their own (stream-bench.ts starts it): N
 * WebSocket cameras, each playing a fakecam clip at F frames/s and measuring each frame's answer, and
 * the concurrent one-shot HTTP verify callers. Real clients are other machines with event loops of their
 * own; here they at least do not share the server's, so a client reading its answers never holds up the
 * server's next request, and the server's "main thread busy" is the server's alone. They still share
 * the machine's cores.
 */
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { WsClient, binaryFrame, jpegDataUrl } from '../../test/helpers/ws-client.ts';
import { FAKECAM_CLIPS, streamFrames } from './fakecam.ts';
import { ownThreadId } from './thread-cpu.ts';

export type StreamMode = 'full' | 'tracking' | 'binary';

/** One step: `n` cameras for `seconds`; or `clients` callers of one HTTP request, each calling again as soon as answered, for `seconds`. */
export type StreamRunRequest = { kind: 'streams'; n: number; mode: StreamMode } | { kind: 'http'; clients: number; seconds: number; url: string; headers: Record<string, string>; body: Uint8Array<ArrayBuffer> };

export interface HttpRunReport {
  latency: number[];
  ok: number;
  failed: number;
  seconds: number;
}

/** A step's frames after each camera's first `warmup` seconds (the sustained load), and its first seconds apart. */
export interface StreamRunReport {
  latency: number[];
  results: number;
  dropped: number;
  errors: number;
  errorCodes: Record<string, number>;
  /** Answers whose top match was the clip's own person. */
  matched: number;
  /** The same for each camera's first `warmup` seconds: its joining, with every other camera of the step joining too. */
  start: { frames: number; latency: number[]; dropped: number };
}

const { url, apiKey, secretKey, seconds, warmup, fps } = workerData as { url: string; apiKey: string; secretKey: string; seconds: number; warmup: number; fps: number };
/** Every other frame of a 25–30 fps clip (≈ 10–15 fps of real motion), as JPEG bytes and as data URLs. */
const clips = FAKECAM_CLIPS.map((file, i) => {
  const jpegs = streamFrames(file);
  return { user: `person${i}`, jpegs, frames: jpegs.map((f) => jpegDataUrl(f)) };
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function http(req: Extract<StreamRunRequest, { kind: 'http' }>): Promise<HttpRunReport> {
  // node:http on keep-alive connections, one per caller, the body sent as it is: what a load generator
  // (wrk, autocannon) does. fetch cost these callers about twice the CPU per request (WHATWG streams on
  // both bodies), on the cores the server shares with them.
  const agent = new Agent({ keepAlive: true, maxSockets: req.clients });
  const body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
  const headers = { ...req.headers, 'content-length': String(body.length) };
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const r = request(req.url, { method: 'POST', headers, agent }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });
  for (let i = 0; i < 4; i++) await once(); // warm-up
  const report: HttpRunReport = { latency: [], ok: 0, failed: 0, seconds: 0 };
  const t = performance.now();
  const until = t + req.seconds * 1000;
  await Promise.all(
    Array.from({ length: req.clients }, async () => {
      while (performance.now() < until) {
        const s = performance.now();
        const status = await once();
        report.latency.push(performance.now() - s);
        if (status === 200) report.ok++;
        else report.failed++;
      }
    }),
  );
  report.seconds = (performance.now() - t) / 1000;
  agent.destroy();
  return report;
}

async function run({ n, mode }: Extract<StreamRunRequest, { kind: 'streams' }>): Promise<StreamRunReport> {
  const tracking = mode !== 'full';
  const clients = await Promise.all(Array.from({ length: n }, () => WsClient.authenticated(url, apiKey, secretKey)));
  parentPort!.postMessage({ type: 'started' });
  // Each camera plays its first `warmup` seconds, then the `seconds` that the step's figures are about.
  const warm = Math.round(warmup * fps);
  const perStream = warm + Math.round(seconds * fps);
  const report: StreamRunReport = { latency: [], results: 0, dropped: 0, errors: 0, errorCodes: {}, matched: 0, start: { frames: n * warm, latency: [], dropped: 0 } };
  await Promise.all(
    clients.map(async (client, s) => {
      const clip = clips[s % clips.length];
      const offset = Math.floor((s / Math.max(1, n)) * clip.frames.length);
      // Staggered starts, as independent cameras would be.
      await sleep((s * 1000) / fps / Math.max(1, n));
      const sentAt = new Map<number, number>();
      const answered = new Set<number>();
      const t0 = performance.now();
      const reader = (async () => {
        while (answered.size < perStream) {
          let m;
          try {
            m = await client.next(5000);
          } catch {
            break; // never answered: counted as dropped below
          }
          const ts = 'timestamp' in m && typeof m.timestamp === 'number' ? m.timestamp : -1;
          if (ts < 0) continue;
          answered.add(ts);
          const ms = performance.now() - sentAt.get(ts)!;
          if (ts < warm) {
            if (m.type === 'recognition_result') report.start.latency.push(ms);
            else if (m.type === 'frame_dropped') report.start.dropped++;
            continue;
          }
          if (m.type === 'recognition_result') {
            report.results++;
            report.latency.push(ms);
            const top = (m.result as { result?: { matches?: Array<{ user_id: string }> } }).result?.matches?.[0]?.user_id;
            if (top === clip.user) report.matched++;
          } else if (m.type === 'frame_dropped') report.dropped++;
          else if (m.type === 'error') {
            report.errors++;
            report.errorCodes[m.code] = (report.errorCodes[m.code] ?? 0) + 1;
          }
        }
      })();
      for (let i = 0; i < perStream; i++) {
        const wait = t0 + (i * 1000) / fps - performance.now();
        if (wait > 0) await sleep(wait);
        sentAt.set(i, performance.now());
        const k = (offset + i) % clip.frames.length;
        const options = { mode: 'identification' as const, tracking };
        client.send(mode === 'binary' ? binaryFrame(clip.jpegs[k], { timestamp: i, options }) : { type: 'process_frame', frame: clip.frames[k], timestamp: i, options });
      }
      await reader;
      for (let i = 0; i < perStream; i++) if (!answered.has(i)) i < warm ? report.start.dropped++ : report.dropped++;
    }),
  );
  for (const c of clients) c.close();
  return report;
}

// The benchmark tells this thread's CPU apart from the server's (thread-cpu.ts).
parentPort!.postMessage({ type: 'tid', tid: ownThreadId() });
parentPort!.on('message', (req: StreamRunRequest) => {
  (req.kind === 'http' ? http(req) : run(req)).then(
    (report) => parentPort!.postMessage({ type: 'done', report }),
    (e: unknown) => parentPort!.postMessage({ type: 'failed', error: String(e) }),
  );
});
