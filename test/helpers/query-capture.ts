import type { CompiledQuery, Kysely } from 'kysely';

/**
 * The same database (or transaction), keeping every query run through it, compiled, for EXPLAIN on either
 * backend (the embedded database included, which a pg pool's log cannot watch).
 *
 * @example const { db: capturing, captured } = withCapture(db); await repo(capturing).run(); captured[0].sql
 */
export function withCapture<T extends Kysely<any>>(db: T): { db: T; captured: CompiledQuery[] } {
  const captured: CompiledQuery[] = [];
  const wrapped = db.withPlugin({
    transformQuery: (args) => {
      captured.push(db.getExecutor().compileQuery(args.node, args.queryId));
      return args.node;
    },
    transformResult: async (args) => args.result,
  }) as T;
  return { db: wrapped, captured };
}
