import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Host resource readings for system-metrics, each a fraction 0..1.
 * - cpu: machine-wide busy time across all cores since the previous reading (os.cpus() deltas);
 *   the first reading, or one within a second of the previous, falls back to the last value or the
 *   1-minute load average divided by the core count.
 * - memory: 1 − available/total (os.freemem reads MemAvailable on Linux).
 * - disk: used/total of the file system holding the data directory (fs.statfs).
 */
export class SystemProbe {
  #last: { at: number; idle: number; total: number } | null = null;
  #lastCpu: number | null = null;

  private readonly dataDir: string;
  private readonly clock: () => number;
  constructor(
    dataDir: string,
    clock: () => number = Date.now,
  ) {
    this.dataDir = dataDir; this.clock = clock;
    this.#last = { at: clock(), ...cpuTimes() };
  }

  cpu(): number {
    const now = this.clock();
    const prev = this.#last;
    if (prev && now - prev.at >= 1000) {
      const cur = cpuTimes();
      const total = cur.total - prev.total;
      if (total > 0) this.#lastCpu = clamp(1 - (cur.idle - prev.idle) / total);
      this.#last = { at: now, ...cur };
    }
    if (this.#lastCpu !== null) return this.#lastCpu;
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    return clamp(os.loadavg()[0] / Math.max(1, cores));
  }

  memory(): number {
    const total = os.totalmem();
    return total > 0 ? clamp(1 - os.freemem() / total) : 0;
  }

  async disk(): Promise<number> {
    try {
      return diskUsage(await fs.promises.statfs(existingAncestor(this.dataDir)));
    } catch {
      return 0;
    }
  }
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** The data directory may not exist yet (in-memory database): measure the disk it will live on. */
function existingAncestor(dir: string): string {
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  return d;
}

function clamp(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * Used share of a file system as `df` reports it: used / (used + available to unprivileged users), with
 * used = blocks − free. Not 1 − available/blocks, which counts reserved blocks and file-system overhead
 * as used (0.70 where df said 25 %).
 */
export function diskUsage(s: { blocks: number; bfree: number; bavail: number }): number {
  const used = s.blocks - s.bfree;
  const denom = used + s.bavail;
  return denom > 0 ? clamp(used / denom) : 0;
}
