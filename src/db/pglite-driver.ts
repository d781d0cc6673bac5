import fs from 'node:fs';
import { PGlite, parse, protocol, type Results } from '@electric-sql/pglite';
import { PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type QueryResult } from 'kysely';

/**
 * Kysely's dialect for the embedded database (PGlite, PostgreSQL compiled to WASM, in this process).
 *
 * One holder at a time: PGlite has one session. Without the queue below, a query from a concurrent request
 * would run inside another request's open transaction (and be rolled back or committed with it).
 *
 * Prepared statements: each distinct SQL text of a query (select, insert, update, delete, with) is parsed
 * and described once as a named statement; every run after that is ONE call into the database (Bind,
 * Describe, Execute, Sync in one buffer) instead of PGlite's `query()`: six calls (Parse, Describe, Bind,
 * Describe, Execute, Sync) and a fresh parse, analysis and plan each time. Kysely compiles a query to the
 * same text whatever its values, so the set of texts is small; it is bounded all the same (least recently
 * used closed first). A schema change (CREATE, ALTER, DROP, … run through this driver) closes them all, so a
 * statement is never run against a table it was not planned for; one made behind the driver is caught by
 * PostgreSQL ("cached plan must not change result type") and the statement prepared again.
 *
 * Parameters are serialised as PGlite's `query()` does (its serializers by the parameter's type, or the
 * value's text), and results parsed by its own `parseResults`, so rows read the same either way.
 *
 * @example const { dialect, client } = await createPGliteDialect('/var/lib/wajah/pg'); new Kysely({ dialect })
 */
export async function createPGliteDialect(dataDir: string | undefined, options: { maxStatements?: number; loadDataDir?: Blob } = {}): Promise<{ dialect: Dialect; client: PGlite }> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const codecs = { parsers: { [BYTEA]: parseBytea }, serializers: { [BYTEA]: serializeBytea } };
  const client = await PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}), ...codecs });
  const dialect: Dialect = {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new PGliteDriver(client, options.maxStatements ?? 256),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
  return { dialect, client };
}

const BYTEA = 17;

/**
 * bytea in PostgreSQL's hex text form ("\\x0a1b…"), by Node's native hex codec. PGlite's own codecs take a
 * substring and a parseInt per byte (and a string per byte the other way): a 200 kB photo cost 15 ms to
 * read and 25 ms to write on the main thread, a 2 kB template 0.4 ms. The values are the same: a
 * Uint8Array of its own (not a view of Node's shared buffer pool) read, the same text written.
 */
export function parseBytea(text: string): Uint8Array {
  const out = new Uint8Array((text.length - 2) >> 1);
  Buffer.from(out.buffer).write(text.slice(2), 'hex');
  return out;
}

export function serializeBytea(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
}

/** Statements worth preparing: queries whose text Kysely repeats. */
const PREPARABLE = /^\s*(select|insert|update|delete|with|values)\b/i;
/**
 * Statements that may change the schema (or what a plan depends on): running one closes the prepared statements.
 * Not VACUUM or ANALYZE (db/pglite-maintenance.ts runs them every few minutes): they change no result type, and
 * PostgreSQL plans a prepared statement again by itself when new statistics make that worthwhile.
 */
const CHANGES_SCHEMA = /^\s*(create|alter|drop|truncate|comment|grant|revoke|reindex|cluster|do|import|refresh|security|discard)\b/i;

interface Prepared {
  name: string;
  /** Parameter type oids, as the database inferred them: they choose each value's serializer. */
  paramTypes: number[];
}

class PGliteDriver implements Driver {
  #tail: Promise<void> = Promise.resolve();
  readonly #connection: PGliteConnection;
  private readonly client: PGlite;
  constructor(client: PGlite, maxStatements: number) {
    this.client = client;
    this.#connection = new PGliteConnection(client, maxStatements);
  }

  async init(): Promise<void> {}

  /** The session, once the previous holder has released it. */
  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => held);
    await previous;
    this.#connection.release = release;
    return this.#connection;
  }

  async beginTransaction(): Promise<void> {
    await this.client.exec('BEGIN');
  }

  async commitTransaction(): Promise<void> {
    await this.client.exec('COMMIT');
  }

  async rollbackTransaction(): Promise<void> {
    await this.client.exec('ROLLBACK');
  }

  async releaseConnection(): Promise<void> {
    const release = this.#connection.release;
    this.#connection.release = null;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.client.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  release: (() => void) | null = null;
  /** By SQL text, least recently used first. */
  readonly #statements = new Map<string, Prepared>();
  /** Names evicted or invalidated, closed in the next call into the database. */
  #toClose: string[] = [];
  #next = 0;

  private readonly client: PGlite;
  private readonly maxStatements: number;
  constructor(client: PGlite, maxStatements: number) {
    this.client = client;
    this.maxStatements = maxStatements;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const params = query.parameters as unknown[];
    if (!PREPARABLE.test(query.sql)) {
      const result = await this.client.query<R>(query.sql, [...params]);
      if (CHANGES_SCHEMA.test(query.sql)) this.#invalidate();
      return toKysely(result);
    }
    try {
      return toKysely(await this.#run<R>(query.sql, params));
    } catch (e) {
      // The text was planned for a table another path has since changed ("cached plan must not change
      // result type"): prepare it again, once, unless a transaction is open (the error has aborted it).
      const stale = (e as { code?: string }).code === '0A000' && /cached plan must not change result type/.test((e as Error).message);
      if (!stale || this.client.isInTransaction()) throw e;
      this.#forget(query.sql);
      return toKysely(await this.#run<R>(query.sql, params));
    }
  }

  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('The embedded database does not stream results');
  }

  async #run<R>(sql: string, params: unknown[]): Promise<Results<R>> {
    const { serialize } = protocol;
    const statement = await this.#prepared(sql);
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = this.client.serializers[statement.paramTypes[i]];
      return serializer ? serializer(v) : String(v);
    });
    try {
      const messages = await this.client.runExclusive(() =>
        this.client.execProtocolStream(concat([...this.#closes(), serialize.bind({ statement: statement.name, values: values as string[] }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]), { syncToFs: false }),
      );
      const [result] = parse.parseResults(messages, this.client.parsers) as Results<R>[];
      await this.client.syncToFs();
      return result;
    } catch (e) {
      throw Object.assign(e as Error, { query: sql, params });
    }
  }

  /** The named statement for `sql`, parsed and described on first use. */
  async #prepared(sql: string): Promise<Prepared> {
    const known = this.#statements.get(sql);
    if (known) {
      // Most recently used last.
      this.#statements.delete(sql);
      this.#statements.set(sql, known);
      return known;
    }
    const { serialize } = protocol;
    const name = `wajah_${this.#next++}`;
    let messages;
    try {
      messages = await this.client.runExclusive(() =>
        this.client.execProtocolStream(concat([...this.#closes(), serialize.parse({ name, text: sql, types: [] }), serialize.describe({ type: 'S', name }), serialize.sync()]), { syncToFs: false }),
      );
    } catch (e) {
      throw Object.assign(e as Error, { query: sql });
    }
    const prepared = { name, paramTypes: parse.parseDescribeStatementResults(messages) };
    this.#statements.set(sql, prepared);
    if (this.#statements.size > this.maxStatements) {
      const [oldest, { name: old }] = this.#statements.entries().next().value!;
      this.#statements.delete(oldest);
      this.#toClose.push(old);
    }
    return prepared;
  }

  #forget(sql: string): void {
    const known = this.#statements.get(sql);
    if (!known) return;
    this.#statements.delete(sql);
    this.#toClose.push(known.name);
  }

  #invalidate(): void {
    for (const { name } of this.#statements.values()) this.#toClose.push(name);
    this.#statements.clear();
  }

  /** Close messages for the statements let go since the last call (their CloseComplete answers are ignored). */
  #closes(): Uint8Array[] {
    const names = this.#toClose;
    this.#toClose = [];
    return names.map((name) => protocol.serialize.close({ type: 'S', name }));
  }
}

function toKysely<R>(result: Results<R>): QueryResult<R> {
  return { rows: result.rows, ...(typeof result.affectedRows === 'number' ? { numAffectedRows: BigInt(result.affectedRows) } : {}) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
