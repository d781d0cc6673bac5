import { sql } from 'kysely';
import type { DatabaseHandle, DB } from './database.ts';

/**
 * VACUUM and ANALYZE for the embedded database (docs/operations.md, "Embedded database maintenance").
 *
 * PGlite runs PostgreSQL in single-user mode: there is no autovacuum launcher (`SHOW autovacuum` says on, but
 * pg_stat_activity holds only the "standalone backend" and last_autovacuum stays null). Without this job
 * the dead rows of updates and deletes (sessions per frame, webhook deliveries, retention deletes, SSO
 * sweeps) are never reclaimed, planner statistics never gathered, and transaction ids never frozen: after
 * about two billion write transactions PostgreSQL refuses every write to avoid wraparound data loss.
 *
 * Each pass applies autovacuum's own rules, with the database's own settings, one table at a time through the
 * single session (every request waits while a step runs, so the event loop gets a turn between tables):
 *  - freeze, `VACUUM (FREEZE, ANALYZE)`, when age(relfrozenxid) of the table or its TOAST table exceeds
 *    `freezeAge` (default vacuum_freeze_table_age, 150 M, below autovacuum_freeze_max_age, 200 M), or its
 *    multixact age exceeds vacuum_multixact_freeze_table_age; system catalogs included (they hold the
 *    database's horizon as much as ours);
 *  - vacuum, `VACUUM (ANALYZE)`, when n_dead_tup > autovacuum_vacuum_threshold (50) +
 *    autovacuum_vacuum_scale_factor (0.2) × reltuples (same for its TOAST table), or rows inserted since the
 *    last vacuum > autovacuum_vacuum_insert_threshold (1000) + its scale factor (0.2) × reltuples;
 *  - analyze, `ANALYZE`, when n_mod_since_analyze > autovacuum_analyze_threshold (50) +
 *    autovacuum_analyze_scale_factor (0.1) × reltuples.
 * PGlite does not keep its activity statistics across a restart (n_dead_tup starts at 0 again), so the first
 * pass of a process runs a plain VACUUM on every table: pages already all-visible are skipped, so that is
 * cheap (about a millisecond a table) unless garbage is there to reclaim.
 *
 * The other databases of the cluster (template0, template1) hold transaction ids too, and wraparound is judged
 * on the oldest of all; a session cannot vacuum another database, so their age is only reported: over
 * `otherDatabaseWarnAge` a warning asks for `wajah db maintain` with the server stopped (it freezes them).
 *
 * PostgreSQL servers have autovacuum: the job is for the embedded database only (startPGliteMaintenance).
 *
 * @example const m = startPGliteMaintenance(database, log); … await m?.stop();
 */

export interface MaintenanceOptions {
  /** Freeze a table whose age(relfrozenxid) exceeds this (default: the database's vacuum_freeze_table_age). */
  freezeAge?: number;
  /** Freeze a table whose multixact age exceeds this (default: vacuum_multixact_freeze_table_age). */
  multixactFreezeAge?: number;
  /** Warn when another database of the cluster is older than this (default 1 billion of the ~2.1 before writes stop). */
  otherDatabaseWarnAge?: number;
  /** Vacuum every table whatever its statistics say (the first pass of a process: PGlite lost them at restart). */
  everything?: boolean;
}

export type MaintenanceAction = 'freeze' | 'vacuum' | 'analyze';

export interface MaintenanceStep {
  table: string;
  action: MaintenanceAction;
  /** What runs: VACUUM (FREEZE, ANALYZE), VACUUM (ANALYZE), ANALYZE, or a plain VACUUM on a first pass. */
  statement: string;
  /** Why: 'xid age', 'dead tuples', 'inserts', 'modifications' or 'first pass'. */
  reason: string;
  deadBefore: number;
  xidAgeBefore: number;
  ms: number;
}

export interface MaintenanceReport {
  steps: MaintenanceStep[];
  /** age(datfrozenxid) of this database after the pass. */
  databaseXidAge: number;
  /** The oldest other database of the cluster (template0/template1), or null when there is none. */
  oldestOther: { name: string; xidAge: number } | null;
  ms: number;
}

interface Candidate {
  table: string;
  dead: number;
  toast_dead: number;
  modified: number;
  inserted: number;
  reltuples: number;
  toast_reltuples: number;
  xid_age: number;
  mxid_age: number;
  user_table: boolean;
}

interface Settings {
  vacuum_threshold: number;
  vacuum_scale: number;
  insert_threshold: number;
  insert_scale: number;
  analyze_threshold: number;
  analyze_scale: number;
  freeze_table_age: number;
  multixact_freeze_table_age: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What one pass would do now, most urgent first (freezes, then by dead tuples, then analyzes). */
export async function planMaintenance(db: DB, options: MaintenanceOptions = {}): Promise<Array<Omit<MaintenanceStep, 'ms'>>> {
  const settings = await readSettings(db);
  const freezeAge = options.freezeAge ?? settings.freeze_table_age;
  const mxidFreezeAge = options.multixactFreezeAge ?? settings.multixact_freeze_table_age;
  // Tables of every schema but TOAST (vacuumed with their table) and temporary ones; partitioned parents have no rows.
  const { rows } = await sql<Candidate>`
    SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.relname) AS table,
      s.n_dead_tup::float8 AS dead, coalesce(ts.n_dead_tup, 0)::float8 AS toast_dead,
      s.n_mod_since_analyze::float8 AS modified, s.n_ins_since_vacuum::float8 AS inserted,
      greatest(c.reltuples, 0)::float8 AS reltuples, greatest(coalesce(t.reltuples, 0), 0)::float8 AS toast_reltuples,
      greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0))::float8 AS xid_age,
      greatest(mxid_age(c.relminmxid), coalesce(mxid_age(t.relminmxid), 0))::float8 AS mxid_age,
      s.schemaname NOT IN ('pg_catalog', 'information_schema') AS user_table
    FROM pg_stat_all_tables s
    JOIN pg_class c ON c.oid = s.relid
    LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
    LEFT JOIN pg_stat_all_tables ts ON ts.relid = c.reltoastrelid
    WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p' AND s.schemaname <> 'pg_toast'`.execute(db);
  const steps: Array<Omit<MaintenanceStep, 'ms'>> = [];
  for (const r of rows) {
    const base = { table: r.table, deadBefore: r.dead + r.toast_dead, xidAgeBefore: r.xid_age };
    if (r.xid_age > freezeAge || r.mxid_age > mxidFreezeAge) steps.push({ ...base, action: 'freeze', statement: 'VACUUM (FREEZE, ANALYZE)', reason: r.xid_age > freezeAge ? 'xid age' : 'multixact age' });
    else if (r.dead > settings.vacuum_threshold + settings.vacuum_scale * r.reltuples || r.toast_dead > settings.vacuum_threshold + settings.vacuum_scale * r.toast_reltuples) steps.push({ ...base, action: 'vacuum', statement: 'VACUUM (ANALYZE)', reason: 'dead tuples' });
    else if (r.inserted > settings.insert_threshold + settings.insert_scale * r.reltuples) steps.push({ ...base, action: 'vacuum', statement: 'VACUUM (ANALYZE)', reason: 'inserts' });
    // Plain VACUUM: with nothing to reclaim it takes a millisecond (all-visible pages are skipped), where ANALYZE
    // samples the table (0.25-0.5 s for 200k rows); the planner statistics (pg_statistic) survived the restart.
    else if (options.everything) steps.push({ ...base, action: 'vacuum', statement: 'VACUUM', reason: 'first pass' });
    // The catalogs' statistics are ANALYZEd with their vacuums; ours also when enough rows changed.
    else if (r.user_table && r.modified > settings.analyze_threshold + settings.analyze_scale * r.reltuples) steps.push({ ...base, action: 'analyze', statement: 'ANALYZE', reason: 'modifications' });
  }
  const rank: Record<MaintenanceAction, number> = { freeze: 0, vacuum: 1, analyze: 2 };
  return steps.sort((a, b) => rank[a.action] - rank[b.action] || (a.action === 'freeze' ? b.xidAgeBefore - a.xidAgeBefore : b.deadBefore - a.deadBefore));
}

/**
 * One maintenance pass: plans, then runs each step as its own statement (VACUUM cannot run in a transaction
 * block; none is open here), yielding to the event loop between tables. `shouldStop` is asked between steps.
 */
export async function runMaintenance(db: DB, options: MaintenanceOptions & { shouldStop?: () => boolean; onStep?: (step: MaintenanceStep) => void } = {}): Promise<MaintenanceReport> {
  const t0 = performance.now();
  const steps: MaintenanceStep[] = [];
  for (const planned of await planMaintenance(db, options)) {
    if (options.shouldStop?.()) break;
    await yieldToEventLoop();
    const t = performance.now();
    try {
      // The name is quote_ident()'s: safe to splice into the statement.
      await sql.raw(`${planned.statement} ${planned.table}`).execute(db);
    } catch (e) {
      // Dropped since the plan was made (undefined_table): nothing left to maintain.
      if ((e as { code?: string }).code === '42P01') continue;
      throw e;
    }
    const step = { ...planned, ms: Math.round(performance.now() - t) };
    steps.push(step);
    options.onStep?.(step);
  }
  const { rows } = await sql<{ name: string; age: number; current: boolean }>`
    SELECT datname AS name, age(datfrozenxid)::float8 AS age, datname = current_database() AS current FROM pg_database ORDER BY 2 DESC`.execute(db);
  const other = rows.find((r) => !r.current);
  return {
    steps,
    databaseXidAge: rows.find((r) => r.current)?.age ?? 0,
    oldestOther: other ? { name: other.name, xidAge: other.age } : null,
    ms: Math.round(performance.now() - t0),
  };
}

async function readSettings(db: DB): Promise<Settings> {
  const { rows } = await sql<Settings>`
    SELECT current_setting('autovacuum_vacuum_threshold')::float8 AS vacuum_threshold,
      current_setting('autovacuum_vacuum_scale_factor')::float8 AS vacuum_scale,
      current_setting('autovacuum_vacuum_insert_threshold')::float8 AS insert_threshold,
      current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS insert_scale,
      current_setting('autovacuum_analyze_threshold')::float8 AS analyze_threshold,
      current_setting('autovacuum_analyze_scale_factor')::float8 AS analyze_scale,
      least(current_setting('vacuum_freeze_table_age')::float8, 0.95 * current_setting('autovacuum_freeze_max_age')::float8) AS freeze_table_age,
      least(current_setting('vacuum_multixact_freeze_table_age')::float8, 0.95 * current_setting('autovacuum_multixact_freeze_max_age')::float8) AS multixact_freeze_table_age`.execute(db);
  return rows[0]!;
}

/** Runs passes on a timer (unref'd): once `firstMs` after start, then every `everyMs`. */
export class PGliteMaintenance {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = false;
  #passes = 0;

  private readonly db: DB;
  private readonly log: { info(msg: string): void; warn(msg: string): void };
  private readonly options: MaintenanceOptions;
  constructor(db: DB, log: { info(msg: string): void; warn(msg: string): void }, options: MaintenanceOptions = {}) {
    this.db = db;
    this.log = log;
    this.options = options;
  }

  start(everyMs = 10 * 60_000, firstMs = 2 * 60_000): void {
    const run = () => {
      this.#timer = null;
      this.#running = this.runOnce()
        .catch((e: unknown) => this.log.warn(`database maintenance failed: ${(e as Error).message}`))
        .finally(() => {
          this.#running = null;
          if (this.#stopped) return;
          this.#timer = setTimeout(run, everyMs);
          this.#timer.unref();
        });
    };
    this.#timer = setTimeout(run, firstMs);
    this.#timer.unref();
  }

  /** One pass (the first of the process vacuums every table), logged step by step. */
  async runOnce(options: MaintenanceOptions = {}): Promise<MaintenanceReport> {
    const everything = this.#passes++ === 0;
    const report = await runMaintenance(this.db, {
      ...this.options,
      everything,
      ...options,
      shouldStop: () => this.#stopped,
      onStep: (s) => {
        // A first pass's plain VACUUM of a table with nothing to reclaim is counted in the summary only.
        if (s.reason !== 'first pass' || s.ms >= 100) this.log.info(`database maintenance: ${s.statement} ${s.table} (${s.reason}; ${s.deadBefore} dead tuples, xid age ${s.xidAgeBefore}) in ${s.ms} ms`);
      },
    });
    if (report.steps.length) this.log.info(`database maintenance: ${report.steps.length} tables in ${report.ms} ms; database xid age ${report.databaseXidAge}`);
    const warnAge = this.options.otherDatabaseWarnAge ?? 1_000_000_000;
    if (report.oldestOther && report.oldestOther.xidAge > warnAge) {
      this.log.warn(
        `database maintenance: database ${report.oldestOther.name} has xid age ${report.oldestOther.xidAge} (writes stop near 2.1 billion): stop the server and run \`wajah db maintain\`, which freezes it`,
      );
    }
    return report;
  }

  /** Stops the timer and waits for a pass under way to finish its current table. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}

/** Starts the job for the embedded database; null (nothing started) for PostgreSQL, which has autovacuum. */
export function startPGliteMaintenance(database: Pick<DatabaseHandle, 'db' | 'dialect'>, log: { info(msg: string): void; warn(msg: string): void }, options: MaintenanceOptions = {}): PGliteMaintenance | null {
  if (database.dialect !== 'pglite') return null;
  const maintenance = new PGliteMaintenance(database.db, log, options);
  maintenance.start();
  return maintenance;
}

/**
 * `wajah db maintain`, server stopped: freezes the cluster's other databases (template0, template1), which the
 * server's session cannot reach but which hold the wraparound horizon too. PGlite opens any of them (single-user
 * mode ignores datallowconn), one at a time; the caller holds the data directory's lock.
 */
export async function freezeOtherDatabases(pgDir: string, appDatabase = 'postgres'): Promise<Array<{ name: string; xidAgeBefore: number; xidAgeAfter: number; ms: number }>> {
  const { PGlite } = await import('@electric-sql/pglite');
  const done: Array<{ name: string; xidAgeBefore: number; xidAgeAfter: number; ms: number }> = [];
  // template1 first: it also says which other databases there are (template0, any an operator created).
  const queue = ['template1'];
  while (queue.length) {
    const name = queue.shift()!;
    const t = performance.now();
    const client = await PGlite.create({ dataDir: pgDir, database: name });
    try {
      const age = async () => (await client.query<{ age: number }>('SELECT age(datfrozenxid)::float8 AS age FROM pg_database WHERE datname = current_database()')).rows[0]!.age;
      if (!done.length) {
        const { rows } = await client.query<{ name: string }>('SELECT datname AS name FROM pg_database WHERE datname NOT IN ($1, current_database()) ORDER BY 1', [appDatabase]);
        queue.push(...rows.map((r) => r.name));
      }
      const xidAgeBefore = await age();
      await client.exec('VACUUM (FREEZE)');
      done.push({ name, xidAgeBefore, xidAgeAfter: await age(), ms: Math.round(performance.now() - t) });
    } finally {
      await client.close();
    }
  }
  return done;
}
