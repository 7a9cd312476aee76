/**
 * The small SQL interface the store is written against. Two drivers implement it: embedded PGlite and a PostgreSQL
 * server (node-postgres). Parameters are plain values; timestamps travel as ISO strings and are cast in SQL.
 */
export type SqlValue = string | number | boolean | null;

/** What a statement can run on: the database itself or an open transaction. */
export interface SqlExecutor {
  /** One parameterised statement (extended protocol, unnamed: no prepared statements survive it). */
  query<R extends object = Record<string, unknown>>(text: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Bulk load: `data` is a whole binary COPY stream (see copy-binary.ts) for `columns` of `table`, loaded with
   * `COPY ... FROM STDIN (FORMAT binary)` (PGlite: from its /dev/blob device). Resolves to the rows loaded.
   */
  copyIn(table: string, columns: readonly string[], data: Uint8Array): Promise<number>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** The COPY statement of `copyIn`, from names the code chose (checked, since COPY takes no parameters). */
export function copyStatement(table: string, columns: readonly string[], source: string): string {
  const names = [...table.split('.'), ...columns];
  for (const n of names) if (!IDENTIFIER.test(n)) throw new TypeError(`not a plain SQL name: ${JSON.stringify(n)}`);
  const quoted = (n: string) => `"${n}"`;
  return `COPY ${table.split('.').map(quoted).join('.')} (${columns.map(quoted).join(', ')}) FROM ${source} (FORMAT binary)`;
}

export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** An open transaction. */
export interface TransactionExecutor extends SqlExecutor {
  /**
   * Runs `text` as the transaction's last statement and commits: the server driver sends the statement and COMMIT
   * together, one round trip for both. Resolves with the statement's rows once the commit is done. When the statement
   * fails, nothing of the transaction is committed and its error is thrown. No statement may follow it.
   */
  commitWith<R extends object = Record<string, unknown>>(text: string, params?: readonly SqlValue[]): Promise<R[]>;
}

/**
 * An open transaction over `inner`, the connection's executor: `finish(text, params)` runs the last statement and
 * commits (the driver's way); every call after it is refused. `beforeCopy` runs before a COPY (the server driver
 * waits there for its pipelined BEGIN: a COPY needs the connection idle). Reports whether the transaction ended.
 */
export function transactionExecutor(
  inner: SqlExecutor,
  finish: <R extends object>(text: string, params?: readonly SqlValue[]) => Promise<R[]>,
  beforeCopy: () => Promise<unknown> = async () => {},
): { tx: TransactionExecutor; ended: () => boolean } {
  let ended = false;
  const open = () => {
    if (ended) throw new Error('the transaction already ended (commitWith)');
  };
  const tx: TransactionExecutor = {
    query: async (text, params) => (open(), inner.query(text, params)),
    exec: async (script) => (open(), inner.exec(script)),
    copyIn: async (table, columns, data) => (open(), await beforeCopy(), inner.copyIn(table, columns, data)),
    commitWith: async (text, params) => {
      open();
      ended = true;
      return finish(text, params);
    },
  };
  return { tx, ended: () => ended };
}

export interface SqlDatabase extends SqlExecutor {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction (READ COMMITTED) with the driver's statement and lock timeouts set locally.
   * Commits when `fn` resolves (unless it already did, by `commitWith`), rolls back when it throws.
   */
  transaction<T>(fn: (tx: TransactionExecutor) => Promise<T>): Promise<T>;
  /** Connection pool figures for /metrics (PGlite has a single connection). */
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export interface TimeoutSettings {
  /** Longest a statement may run, in ms (SET LOCAL statement_timeout). */
  readonly statementTimeoutMs: number;
  /** Longest a statement may wait for a row lock, in ms (SET LOCAL lock_timeout). */
  readonly lockTimeoutMs: number;
}

/** The statements that set a transaction's timeouts: SET LOCAL, so nothing is left on the connection afterwards. */
export function setLocalScript(t: TimeoutSettings): string {
  // Integers from validated settings, so interpolation is safe; SET LOCAL takes no parameters.
  const st = Math.trunc(t.statementTimeoutMs);
  const lt = Math.trunc(t.lockTimeoutMs);
  return `SET LOCAL statement_timeout = ${st}; SET LOCAL lock_timeout = ${lt};`;
}

/** BEGIN and the timeouts in one round trip. */
export function beginScript(t: TimeoutSettings): string {
  return `BEGIN; ${setLocalScript(t)}`;
}

/**
 * A jsonb array parameter as a table of `count` rows, for joins: `jsonb_to_recordset` alone is estimated at 100 rows
 * whatever it holds, and against a table of tens of thousands of rows that estimate made PostgreSQL hash-join it to
 * a sequential scan of the whole table (measured: 3 ms per single update at 18k pairs, growing with the table,
 * instead of 0.2 ms through the index). A LIMIT of the true count gives the planner the right number.
 */
export function jsonRows(param: string, columns: string, count: number, alias: string): string {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`row count must be a whole number, got ${count}`);
  return `(SELECT * FROM jsonb_to_recordset(${param}::jsonb) AS r(${columns}) LIMIT ${count}) AS ${alias}`;
}
