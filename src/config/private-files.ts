/**
 * The data directory holds faces' templates, the master key and the embedded database (names and
 * emails in its WAL): only the service's own user may read it, whatever the umask (issue 9).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Files this process creates from now on are 0600 (directories 0700). */
export function privateUmask(): void {
  process.umask(0o077);
}

/** Creates the directory 0700 and takes group/other access off everything already in it. */
export function securePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) fs.chmodSync(p, st.mode & (st.isDirectory() ? 0o700 : 0o600));
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
}
