/**
 * The server driver: node-postgres with a bounded pool. Safe behind a transaction pooler (Supabase's Supavisor,
 * PgBouncer): statements are unnamed (no prepared statements), and all session settings are SET LOCAL, so nothing
 * outlives a transaction. TLS follows the URL's `sslmode`.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  beginScript,
  copyStatement,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
  type TimeoutSettings,
  transactionExecutor,
  type TransactionExecutor,
} from './sql.js';

export interface PostgresOptions extends TimeoutSettings {
  readonly connectionString: string;
  readonly poolSize: number;
  /** Longest wait for a free connection (or a new one), in ms; past it the request fails fast with 503. */
  readonly poolTimeoutMs: number;
  /** Called with errors of idle connections (for example the server restarting); they must not crash the process. */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * Streams a binary COPY on one idle connection. The pool's connections pipeline their queries, which a COPY (a
 * Submittable that holds the connection until it ends) cannot share, so the connection leaves pipeline mode for it.
 */
async function copyOn(client: pg.PoolClient, table: string, columns: readonly string[], data: Uint8Array): Promise<number> {
  const mode = client as { pipeline: boolean };
  const pipelined = mode.pipeline;
  mode.pipeline = false;
  try {
    const stream = client.query(copyFrom(copyStatement(table, columns, 'STDIN')));
    await pipeline(Readable.from([data]), stream);
    return stream.rowCount;
  } finally {
    mode.pipeline = pipelined;
  }
}

/** The socket under a pool client, where the driver exposes it (node-postgres keeps it on `connection.stream`). */
function socketOf(client: pg.PoolClient): { cork(): void; uncork(): void } | undefined {
  const stream = (client as { connection?: { stream?: { cork?: unknown; uncork?: unknown } } }).connection?.stream;
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as { cork(): void; uncork(): void }) : undefined;
}

/**
 * Holds the socket's writes from now until the end of this tick, then sends them in one system call: pipelined
 * messages (BEGIN with the first statement, a statement with its COMMIT) then reach the server in one packet, which it
 * reads in one go, instead of one write and one wake-up each.
 */
function corkForThisTick(client: pg.PoolClient): void {
  const socket = socketOf(client);
  if (socket === undefined) return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}

function executor(c: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query<R extends object>(text: string, params: readonly SqlValue[] = []): Promise<R[]> {
      const r = await c.query<R & pg.QueryResultRow>(text, params as unknown[]);
      return r.rows;
    },
    async exec(script: string): Promise<void> {
      // No parameters: the simple protocol, which runs several statements.
      await c.query(script);
    },
    async copyIn(table: string, columns: readonly string[], data: Uint8Array): Promise<number> {
      if (!(c instanceof pg.Pool)) return copyOn(c, table, columns, data);
      const client = await c.connect();
      let broken: Error | undefined;
      try {
        return await copyOn(client, table, columns, data);
      } catch (e) {
        broken = e as Error;
        throw e;
      } finally {
        client.release(broken ?? false);
      }
    },
  };
}

export function openPostgres(options: PostgresOptions): SqlDatabase {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: options.poolTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Client-side bound for statements outside a transaction (reads); transactions also get SET LOCAL.
    query_timeout: options.statementTimeoutMs + 1_000,
    application_name: 'bkt-engine',
    // Queries go out without waiting for the answer to the one before (each still its own sync point): a
    // transaction's BEGIN travels with its first statement, and commitWith's statement with the COMMIT.
    pipeline: true,
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  const base = executor(pool);
  const begin = beginScript(options);
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    copyIn: base.copyIn,
    async transaction<T>(fn: (tx: TransactionExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A connection lost between two statements emits 'error' on the client; unheard, it would crash the process.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      // Not awaited: BEGIN and the timeouts are pipelined with the first statement, which fails too if they do. The
      // first statement is sent in this same tick (fn's synchronous start), so both leave in one write.
      corkForThisTick(client);
      const begun = client.query(begin).then(
        () => undefined,
        (e: unknown) => e,
      );
      const inner = executor(client);
      const { tx, ended } = transactionExecutor(
        inner,
        async <R extends object>(text: string, params?: readonly SqlValue[]): Promise<R[]> => {
          corkForThisTick(client);
          const statement = inner.query<R>(text, params);
          // After a failed statement the transaction is aborted, and PostgreSQL ends it with this COMMIT as a rollback.
          const commit = client.query('COMMIT');
          const [rows, committed] = await Promise.allSettled([statement, commit]);
          if (rows.status === 'rejected') throw rows.reason;
          if (committed.status === 'rejected') throw committed.reason;
          return rows.value;
        },
        () => begun,
      );
      try {
        const result = await fn(tx);
        const beginError = await begun;
        if (beginError !== undefined) throw beginError;
        if (!ended()) await client.query('COMMIT');
        return result;
      } catch (e) {
        await begun;
        try {
          // Also after commitWith: outside a transaction ROLLBACK is only a warning.
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable: drop it from the pool rather than hand it to the next request.
          broken = rollbackError as Error;
        }
        throw e;
      } finally {
        client.off('error', onError);
        client.release(broken ?? false);
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}
