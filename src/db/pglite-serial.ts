import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/**
 * Wraps the kysely-pglite dialect so that its single connection is handed out to one holder at a
 * time. PGlite has one session: without this, a query from a concurrent request would run inside
 * another request's open transaction (and be rolled back or committed with it).
 * It also reports affected rows as Kysely expects (`numAffectedRows`; kysely-pglite passes PGlite's
 * `affectedRows` through unchanged, so every `numDeletedRows` / `numUpdatedRows` read 0 on PGlite).
 *
 * @example const db = new Kysely({ dialect: serializedDialect((await KyselyPGlite.create(dir)).dialect) })
 */
export function serializedDialect(inner: Dialect): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createDriver: () => new SerialDriver(inner.createDriver()),
  };
}

/** A connection whose results carry `numAffectedRows` (PGlite calls it `affectedRows`). */
class CountingConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = (await this.inner.executeQuery<R>(query)) as QueryResult<R> & { affectedRows?: number };
    if (result.numAffectedRows === undefined && typeof result.affectedRows === 'number') {
      return { ...result, numAffectedRows: BigInt(result.affectedRows) };
    }
    return result;
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class SerialDriver implements Driver {
  #tail: Promise<void> = Promise.resolve();
  #release = new WeakMap<DatabaseConnection, () => void>();

  private readonly inner: Driver;
  constructor(inner: Driver) {
    this.inner = inner;
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => held);
    await previous;
    const connection = new CountingConnection(await this.inner.acquireConnection());
    this.#release.set(connection, release);
    return connection;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(connection instanceof CountingConnection ? connection.inner : connection);
    const release = this.#release.get(connection);
    this.#release.delete(connection);
    release?.();
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
