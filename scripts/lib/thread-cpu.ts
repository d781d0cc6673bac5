/**
 * CPU time of each thread of this process (Linux: /proc/self/task/<tid>/stat), so a benchmark can say
 * where the machine's cores went per frame or request: the server's main thread (HTTP, WebSocket,
 * services, the embedded database), the inference workers, V8's own helper threads (garbage collection,
 * compilation) and the benchmark's clients. Elsewhere than Linux it reads nothing (empty sample).
 */
import fs from 'node:fs';

/** Milliseconds of CPU (user + system) by thread id, and each thread's name. */
export type ThreadSample = Map<number, { name: string; ms: number }>;

const TICK_MS = 10; // USER_HZ is 100 on Linux

export function sampleThreads(): ThreadSample {
  const out: ThreadSample = new Map();
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      // Fields after the ")" that closes the name: state is 0, utime 11, stime 12 (proc(5), counted from 0 after the name).
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(Number(tid), { name, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** The calling thread's id (a worker posts it so the benchmark can tell its clients' thread apart), or -1. */
export function ownThreadId(): number {
  try {
    return Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return -1;
  }
}

/**
 * CPU per unit (frame or request) between two samples, by role: `main` (this process's main thread),
 * `clients` (the thread `clientTid`), `inference` (every other Node worker thread: in the benchmarks the
 * server's inference pool is the only other one), `v8` (V8's helper threads: garbage collection and
 * compilation for all of them) and `other` (libuv's pool, onnxruntime's, …).
 */
export function cpuPerUnit(before: ThreadSample, after: ThreadSample, units: number, clientTid: number): Record<'main' | 'inference' | 'v8' | 'clients' | 'other', number> {
  const out = { main: 0, inference: 0, v8: 0, clients: 0, other: 0 };
  for (const [tid, { name, ms }] of after) {
    const d = ms - (before.get(tid)?.ms ?? 0);
    const role = tid === process.pid ? 'main' : tid === clientTid ? 'clients' : name === 'WorkerThread' ? 'inference' : name.startsWith('V8') ? 'v8' : 'other';
    out[role] += d;
  }
  const per = (ms: number) => Math.round((ms / Math.max(1, units)) * 100) / 100;
  return { main: per(out.main), inference: per(out.inference), v8: per(out.v8), clients: per(out.clients), other: per(out.other) };
}
