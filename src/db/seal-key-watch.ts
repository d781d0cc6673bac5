/**
 * Whether another process on this PostgreSQL database seals with a master key this one does not hold: the
 * rolling restart of an online master-key rotation (docs/operations-keys.md, step 2) has restarted other
 * servers with the new key, and this one was not restarted yet. Values they seal (templates, webhook and SSO
 * secrets) do not open here. Without this watch such a value looked tampered with: a template was left out
 * (a user enrolled on a restarted server got NOT_ENROLLED here, a wrong answer) and a webhook delivery for an
 * endpoint created there failed for good. With it, those paths answer `503 MASTER_KEY_OUTDATED` (a retry
 * reaches a restarted server) and the webhook dispatcher leaves deliveries to the restarted servers.
 *
 * It reads the seal-key locks every process holds (seal-key-lock.ts) every `intervalMs` (default 5 s): a lock
 * named after neither this process's key nor one of its previous keys is a newer key. The embedded database
 * serves one process: no watch there.
 *
 * @example const watch = new SealKeyWatch(db, [keyCheckValue(key)], log); watch.start(); if (watch.outdated) …
 */
import type { Kysely } from 'kysely';
import { sealKeyHoldersExcept, type SealKeyHolder } from './seal-key-lock.ts';

export class SealKeyWatch {
  #holders: SealKeyHolder[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<SealKeyHolder[]> | null = null;
  readonly #own: readonly string[];
  private readonly db: Kysely<any>;
  private readonly log: { warn(msg: string): void; info(msg: string): void };
  private readonly intervalMs: number;

  /** `ownKcvs`: the check values of this process's key and of its previous keys (WAJAH_MASTER_KEY_PREVIOUS). */
  constructor(db: Kysely<any>, ownKcvs: readonly string[], log: { warn(msg: string): void; info(msg: string): void }, intervalMs = 5000) {
    this.db = db;
    this.log = log;
    this.intervalMs = intervalMs;
    this.#own = ownKcvs;
  }

  /** The processes sealing with a key this one cannot open, as of the last check; null when there are none. */
  get outdated(): SealKeyHolder[] | null {
    return this.#holders.length ? this.#holders : null;
  }

  start(): void {
    const run = () => {
      this.check()
        .catch((e: unknown) => this.log.warn(`master key watch failed: ${(e as Error).message}`))
        .finally(() => {
          if (!this.#timer) return;
          this.#timer = setTimeout(run, this.intervalMs);
          this.#timer.unref();
        });
    };
    this.#timer = setTimeout(run, 0);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Reads the locks now (one read at a time) and logs when this process becomes, or stops being, outdated. */
  check(): Promise<SealKeyHolder[]> {
    this.#running ??= this.#read().finally(() => (this.#running = null));
    return this.#running;
  }

  async #read(): Promise<SealKeyHolder[]> {
    const rows = await sealKeyHoldersExcept(this.db, this.#own);
    const was = this.#holders.length > 0;
    this.#holders = rows;
    if (rows.length && !was) {
      const who = rows.map((h) => `pid ${h.pid}${h.addr ? ` at ${h.addr}` : ''}${h.application ? ` (${h.application})` : ''}`).join(', ');
      this.log.warn(
        `master key outdated: ${who} seal${rows.length === 1 ? 's' : ''} with a master key this server does not hold (an online rotation's rolling restart, docs/operations-keys.md). ` +
          'Values they seal do not open here: such requests get 503 MASTER_KEY_OUTDATED and webhook deliveries are left to them. Restart this server with WAJAH_MASTER_KEY=<new key> and WAJAH_MASTER_KEY_PREVIOUS=<this key>.',
      );
    } else if (!rows.length && was) {
      this.log.info('master key watch: no process seals with a key this server does not hold any more');
    }
    return rows;
  }
}
