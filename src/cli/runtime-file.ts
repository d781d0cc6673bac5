import fs from 'node:fs';
import path from 'node:path';

/**
 * `${WAJAH_DATA_DIR}/server.json`, written by a running server (mode 0600) and removed when it
 * stops. The CLI reads it to find the server and talk to its admin API instead of opening the
 * embedded database (which allows one process at a time).
 */
export interface RuntimeInfo {
  pid: number;
  port: number;
  host: string;
  /** Local operator token accepted by this server's admin API (random per start). */
  token: string;
  database: 'pglite' | 'postgres';
  started_at: string;
}

export function runtimeFilePath(dataDir: string): string {
  return path.join(dataDir, 'server.json');
}

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = runtimeFilePath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Removes the file if it is still ours (another server may have started since). */
export function removeRuntimeFile(dataDir: string, pid = process.pid): void {
  const info = readRuntimeFile(dataDir);
  if (info && info.pid === pid) fs.rmSync(runtimeFilePath(dataDir), { force: true });
}

export function readRuntimeFile(dataDir: string): RuntimeInfo | null {
  try {
    return JSON.parse(fs.readFileSync(runtimeFilePath(dataDir), 'utf8')) as RuntimeInfo;
  } catch {
    return null;
  }
}

/** The runtime file of a live server in this data directory, or null (absent or stale). */
export function findRunningServer(dataDir: string): RuntimeInfo | null {
  const info = readRuntimeFile(dataDir);
  if (!info) return null;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch (e) {
    // EPERM: the process exists but belongs to another user: still running.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? info : null;
  }
}

/** Where a local client reaches a server listening on `host`. */
export function localUrl(info: Pick<RuntimeInfo, 'host' | 'port'>): string {
  const host = !info.host || info.host === '0.0.0.0' || info.host === '::' ? '127.0.0.1' : info.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${info.port}/api`;
}
