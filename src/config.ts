/**
 * Every setting of the service, graph (NEO4J_*) included, in one table, read once from the environment into a frozen,
 * validated object. Only entry points pass `process.env`; everything else receives the Config. `bkt serve --help`
 * prints the table, and docs/configuration.md is generated from it; a row's default is what the parser reads when its
 * variable is unset.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { distance } from 'fastest-levenshtein';
import type { GraphConfig } from './graph/config.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** PostgreSQL server URL; when absent the embedded PGlite database in `dataDir` is used. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** SHA-256 digests (32 bytes each) of the accepted bearer tokens. */
  readonly serviceTokenDigests: readonly Buffer[];
  readonly adminTokenDigests: readonly Buffer[];
  readonly allowUnsafeBind: boolean;
  readonly migrateOnStart: boolean;
  readonly masteryThreshold: number;
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly poolSize: number;
  readonly poolTimeoutMs: number;
  /** Time to receive a whole request (headers and body) before the socket is closed with 408. */
  readonly requestTimeoutMs: number;
  /** A socket with no activity this long while a request is open is closed. */
  readonly connectionTimeoutMs: number;
  /** An idle keep-alive socket is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** Open sockets beyond this are refused at once. */
  readonly maxConnections: number;
  /** How long a shutdown waits for requests in flight before it closes their sockets. */
  readonly shutdownTimeoutMs: number;
  /** Which requests get their one log line: all (probes excepted), errors only (4xx and 5xx), or none. */
  readonly requestLog: 'all' | 'errors' | 'off';
  /** Log /health, /ready and /metrics requests too (with requestLog all). */
  readonly logProbes: boolean;
  /** Bytes of log lines held before one write to stdout (flushed at least every second and at exit); 0 writes each line. */
  readonly logBufferBytes: number;
  /** SHA-256 digest of the token /metrics asks for; undefined leaves /metrics open. */
  readonly metricsTokenDigest: Buffer | undefined;
  /** Requests per minute per bearer token (per address without one); 0 turns the limit off. */
  readonly rateLimitPerMinute: number;
  /** Longest wait between attempts to reach the database at start. */
  readonly dbRetryMaxMs: number;
  readonly paramsRefreshMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Worker threads of a fit job. */
  readonly fitThreads: number;
  /** How often a running fit job writes its heartbeat, and after how long without one it counts as dead. */
  readonly fitHeartbeatMs: number;
  readonly fitStaleMs: number;
  /** NEO4J_* settings: the relay runs only when NEO4J_URI is set. */
  readonly graph: GraphConfig;
  /** BKT_DEBUG: stack traces of internal errors on stderr (CLI). */
  readonly debug: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** One environment variable: its name, default (as text) and what it does; `group` orders the generated docs. */
export interface Setting {
  readonly name: string;
  readonly default: string;
  readonly description: string;
  readonly group: 'service' | 'http' | 'database' | 'fitting' | 'graph' | 'debug';
}

type Row = Omit<Setting, 'group'>;
const group = (g: Setting['group'], rows: Row[]): Setting[] => rows.map((r) => ({ ...r, group: g }));

/** Every setting, in the order `bkt serve --help` and docs/configuration.md list them. */
export const SETTINGS: readonly Setting[] = Object.freeze([
  ...group('service', [
    { name: 'PORT', default: '3000', description: 'HTTP port' },
    { name: 'HOST', default: '127.0.0.1', description: 'address to bind; non-loopback needs tokens and a server database' },
    { name: 'BKT_SERVICE_TOKENS', default: '(unset)', description: 'comma-separated bearer tokens (>= 32 chars or sha256:<hex>)' },
    { name: 'BKT_ADMIN_TOKENS', default: '(unset)', description: 'comma-separated admin bearer tokens (same forms)' },
    { name: 'BKT_ALLOW_UNSAFE_BIND', default: 'false', description: 'allow a non-loopback HOST without tokens or with PGlite' },
    { name: 'BKT_MASTERY_THRESHOLD', default: '0.95', description: 'P(L) at or above which a concept is mastered' },
    { name: 'BKT_PARAMS_REFRESH_MS', default: '500', description: 'how often parameter changes are polled' },
    { name: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  ]),
  ...group('http', [
    { name: 'BKT_REQUEST_TIMEOUT_MS', default: '10000', description: 'time to receive a whole request (headers and body); then 408 and close' },
    { name: 'BKT_CONNECTION_TIMEOUT_MS', default: '10000', description: 'a socket silent this long during a request is closed' },
    { name: 'BKT_KEEP_ALIVE_TIMEOUT_MS', default: '65000', description: 'an idle keep-alive socket is closed after this long (above a load balancer\'s idle timeout)' },
    { name: 'BKT_MAX_CONNECTIONS', default: '1000', description: 'open sockets beyond this are refused at once' },
    { name: 'BKT_SHUTDOWN_TIMEOUT_MS', default: '10000', description: 'on SIGTERM, how long requests in flight may take before their sockets are closed' },
    { name: 'BKT_REQUEST_LOG', default: 'all', description: 'one log line per request: all, errors (4xx and 5xx only) or off' },
    { name: 'BKT_LOG_PROBES', default: 'false', description: 'also log /health, /ready and /metrics requests' },
    { name: 'BKT_LOG_BUFFER_BYTES', default: '4096', description: 'log lines held up to this size and written to stdout together (at least every second, and at exit); 0 = one write per line' },
    { name: 'BKT_METRICS_TOKEN', default: '(unset)', description: '/metrics asks for this bearer token (>= 32 chars or sha256:<hex>); unset = open' },
    { name: 'BKT_RATE_LIMIT', default: '0', description: 'requests per minute per bearer token (per address without one); 0 = off' },
  ]),
  ...group('database', [
    { name: 'DATABASE_URL', default: '(unset)', description: 'PostgreSQL URL (sslmode=require for TLS); unset = embedded PGlite' },
    { name: 'BKT_DATA_DIR', default: './.bkt/data', description: "PGlite data directory ('memory://' keeps nothing)" },
    { name: 'BKT_MIGRATE', default: 'true', description: 'apply pending migrations at start' },
    { name: 'BKT_STATEMENT_TIMEOUT_MS', default: '5000', description: 'statement timeout per transaction' },
    { name: 'BKT_LOCK_TIMEOUT_MS', default: '2000', description: 'row lock wait before 503' },
    { name: 'BKT_POOL_SIZE', default: '10', description: 'database connections (server only)' },
    { name: 'BKT_POOL_TIMEOUT_MS', default: '2000', description: 'wait for a free connection before 503' },
    { name: 'BKT_DB_RETRY_MAX_MS', default: '10000', description: 'longest wait between attempts to reach the database at start (backoff from 250 ms)' },
  ]),
  ...group('fitting', [
    { name: 'BKT_FIT_THREADS', default: 'CPUs - 1 (at least 1)', description: 'worker threads of a fit job' },
    { name: 'BKT_FIT_HEARTBEAT_MS', default: '2000', description: 'how often a running fit job records its heartbeat' },
    { name: 'BKT_FIT_STALE_MS', default: '30000', description: 'a fit job without a heartbeat this long is marked interrupted' },
  ]),
  ...group('graph', [
    { name: 'NEO4J_URI', default: '(unset)', description: 'Neo4j to project mastery to (neo4j+s://, bolt://...); unset = queue only, no relay' },
    { name: 'NEO4J_USER', default: '(unset)', description: 'Neo4j user (required with NEO4J_URI)' },
    { name: 'NEO4J_PASSWORD', default: '(unset)', description: 'Neo4j password (required with NEO4J_URI)' },
    { name: 'NEO4J_DATABASE', default: 'neo4j', description: 'Neo4j database name' },
  ]),
  ...group('debug', [{ name: 'BKT_DEBUG', default: 'false', description: 'print the stack of internal errors (CLI)' }]),
]);

/** Text for `--help`: one line per setting. */
export function settingsHelp(): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length));
  return SETTINGS.map((s) => `  ${s.name.padEnd(width)}  ${s.description} (default ${s.default})`).join('\n');
}

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

const DEFAULTS: ReadonlyMap<string, string> = new Map(SETTINGS.map((s) => [s.name, s.default]));

/**
 * A setting's text: the variable when it is set, else the default its row of SETTINGS gives (undefined for
 * "(unset)"). Defaults are parsed like the variables, so the table that `--help` and the docs show is the one in force.
 */
function text(env: Env, name: string): string | undefined {
  const set = value(env, name);
  if (set !== undefined) return set;
  const fallback = DEFAULTS.get(name);
  if (fallback === undefined) throw new Error(`${name} has no row in SETTINGS`);
  return fallback === '(unset)' ? undefined : fallback;
}

/** The text of a setting that always has a value (a default in its row). */
function required(env: Env, name: string): string {
  const raw = text(env, name);
  if (raw === undefined) throw new Error(`${name} has no default in SETTINGS`);
  return raw;
}

function integer(env: Env, name: string, min: number, max: number): number {
  const raw = required(env, name);
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

function boolean(env: Env, name: string): boolean {
  const raw = required(env, name).toLowerCase();
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got '${raw}'`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[]): T {
  const raw = required(env, name).toLowerCase();
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/i;

/** Tokens are kept only as SHA-256 digests, so that they are compared in constant time and never held in clear. */
function tokens(env: Env, name: string): Buffer[] {
  const raw = text(env, name);
  if (raw === undefined) return [];
  return raw.split(',').map((t, i) => {
    const token = t.trim();
    const digest = DIGEST.exec(token);
    if (digest) return Buffer.from(digest[1], 'hex');
    if (token.length < 32) {
      throw new ConfigError(name, `token ${i + 1} is ${token.length} characters; use at least 32 or sha256:<64 hex digits>`);
    }
    return createHash('sha256').update(token).digest();
  });
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith('127.');
  if (kind === 6) return host === '::1';
  return false;
}

const NEO4J_SCHEMES = ['neo4j', 'neo4j+s', 'neo4j+ssc', 'bolt', 'bolt+s', 'bolt+ssc'];
// Database names: letters, digits, dots and dashes, 3 to 63 characters, starting with a letter (Neo4j's own rule).
const NEO4J_DATABASE_NAME = /^[A-Za-z][A-Za-z0-9.-]{2,62}$/;

/**
 * The NEO4J_* rows of the table: the relay runs only with NEO4J_URI, which then needs NEO4J_USER and NEO4J_PASSWORD.
 * Part of loadConfig(); exported for callers that replace only the graph settings (the runtime's test override).
 */
export function loadGraphConfig(env: Env): GraphConfig {
  const uri = text(env, 'NEO4J_URI');
  if (uri === undefined) {
    // Set in the environment, that is (NEO4J_DATABASE has a default).
    const stray = ['NEO4J_USER', 'NEO4J_PASSWORD', 'NEO4J_DATABASE'].find((name) => value(env, name) !== undefined);
    if (stray !== undefined) throw new ConfigError('NEO4J_URI', `is not set, but ${stray} is; set both or neither`);
    return Object.freeze({ enabled: false, reason: 'NEO4J_URI is not set: this instance queues graph updates but does not relay them' });
  }
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new ConfigError('NEO4J_URI', 'is not a URL (expected e.g. neo4j+s://host or bolt://host:7687)');
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!NEO4J_SCHEMES.includes(scheme)) throw new ConfigError('NEO4J_URI', `scheme "${scheme}" is not one of ${NEO4J_SCHEMES.join(', ')}`);
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('NEO4J_URI', 'must not contain credentials; use NEO4J_USER and NEO4J_PASSWORD');
  }
  const user = text(env, 'NEO4J_USER');
  if (user === undefined) throw new ConfigError('NEO4J_USER', 'is required when NEO4J_URI is set');
  // The password is taken as given: spaces at either end may be part of it.
  const password = env.NEO4J_PASSWORD;
  if (password === undefined || password === '') throw new ConfigError('NEO4J_PASSWORD', 'is required when NEO4J_URI is set');
  const database = required(env, 'NEO4J_DATABASE');
  if (!NEO4J_DATABASE_NAME.test(database)) {
    throw new ConfigError('NEO4J_DATABASE', `"${database}" is not a valid database name (a letter, then 2-62 letters, digits, dots or dashes)`);
  }
  return Object.freeze({
    enabled: true,
    neo4j: Object.freeze({ uri, user, password, database, maxConnectionPoolSize: 4, connectionTimeoutMs: 3_000, transactionTimeoutMs: 10_000 }),
  });
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env): Config {
  const host = required(env, 'HOST');
  const databaseUrl = text(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const thresholdText = required(env, 'BKT_MASTERY_THRESHOLD');
  const threshold = Number(thresholdText);
  if (!(threshold > 0 && threshold <= 1)) {
    throw new ConfigError('BKT_MASTERY_THRESHOLD', `must be a number in (0, 1], got '${thresholdText}'`);
  }
  const config: Config = {
    port: integer(env, 'PORT', 0, 65535),
    host,
    databaseUrl,
    dataDir: required(env, 'BKT_DATA_DIR'),
    serviceTokenDigests: tokens(env, 'BKT_SERVICE_TOKENS'),
    adminTokenDigests: tokens(env, 'BKT_ADMIN_TOKENS'),
    allowUnsafeBind: boolean(env, 'BKT_ALLOW_UNSAFE_BIND'),
    migrateOnStart: boolean(env, 'BKT_MIGRATE'),
    masteryThreshold: threshold,
    statementTimeoutMs: integer(env, 'BKT_STATEMENT_TIMEOUT_MS', 1, 600_000),
    lockTimeoutMs: integer(env, 'BKT_LOCK_TIMEOUT_MS', 1, 600_000),
    poolSize: integer(env, 'BKT_POOL_SIZE', 1, 1000),
    poolTimeoutMs: integer(env, 'BKT_POOL_TIMEOUT_MS', 1, 600_000),
    requestTimeoutMs: integer(env, 'BKT_REQUEST_TIMEOUT_MS', 100, 600_000),
    connectionTimeoutMs: integer(env, 'BKT_CONNECTION_TIMEOUT_MS', 100, 600_000),
    keepAliveTimeoutMs: integer(env, 'BKT_KEEP_ALIVE_TIMEOUT_MS', 100, 600_000),
    maxConnections: integer(env, 'BKT_MAX_CONNECTIONS', 1, 1_000_000),
    shutdownTimeoutMs: integer(env, 'BKT_SHUTDOWN_TIMEOUT_MS', 100, 600_000),
    requestLog: oneOf(env, 'BKT_REQUEST_LOG', ['all', 'errors', 'off'] as const),
    logProbes: boolean(env, 'BKT_LOG_PROBES'),
    logBufferBytes: integer(env, 'BKT_LOG_BUFFER_BYTES', 0, 1_048_576),
    metricsTokenDigest: tokens(env, 'BKT_METRICS_TOKEN')[0],
    rateLimitPerMinute: integer(env, 'BKT_RATE_LIMIT', 0, 10_000_000),
    dbRetryMaxMs: integer(env, 'BKT_DB_RETRY_MAX_MS', 250, 600_000),
    paramsRefreshMs: integer(env, 'BKT_PARAMS_REFRESH_MS', 10, 60_000),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS),
    // The one default that depends on the host; its row says so in words.
    fitThreads: value(env, 'BKT_FIT_THREADS') === undefined ? Math.max(1, availableParallelism() - 1) : integer(env, 'BKT_FIT_THREADS', 1, 1024),
    fitHeartbeatMs: integer(env, 'BKT_FIT_HEARTBEAT_MS', 10, 600_000),
    fitStaleMs: integer(env, 'BKT_FIT_STALE_MS', 50, 3_600_000),
    graph: loadGraphConfig(env),
    debug: boolean(env, 'BKT_DEBUG'),
  };
  if (config.fitStaleMs <= config.fitHeartbeatMs) {
    throw new ConfigError('BKT_FIT_STALE_MS', `must be longer than BKT_FIT_HEARTBEAT_MS (${config.fitHeartbeatMs}), got ${config.fitStaleMs}`);
  }
  if (!isLoopback(host) && !config.allowUnsafeBind) {
    if (config.serviceTokenDigests.length + config.adminTokenDigests.length === 0) {
      throw new ConfigError('HOST', `binding to ${host} without BKT_SERVICE_TOKENS or BKT_ADMIN_TOKENS would open the API to the network; set tokens, or BKT_ALLOW_UNSAFE_BIND=true`);
    }
    if (databaseUrl === undefined) {
      throw new ConfigError('HOST', `binding to ${host} with the embedded PGlite database (one process, no replication) is not for production; set DATABASE_URL, or BKT_ALLOW_UNSAFE_BIND=true`);
    }
  }
  return Object.freeze(config);
}

/** BKT_DEBUG alone, for the CLI's error report (which must work when the other settings do not parse). */
export function debugEnabled(env: Env): boolean {
  try {
    return boolean(env, 'BKT_DEBUG');
  } catch {
    return false;
  }
}

/** A BKT_* or NEO4J_* variable that no setting reads, and the known name closest to it (a typo, most likely). */
export interface UnknownSetting {
  readonly name: string;
  readonly closest: string;
}

/** Variables the test suite and the benches read; the service ignores them. */
const TOOLING = /^BKT_(TEST|BENCH|RELIABILITY)_|^BKT_PG_BIN$/;

/** Variables of our prefixes that no setting reads, each with the closest known name by edit distance. */
export function unknownSettings(env: Env): UnknownSetting[] {
  const known = SETTINGS.map((s) => s.name);
  return Object.keys(env)
    .filter((name) => /^(BKT_|NEO4J_)/.test(name) && !TOOLING.test(name) && !known.includes(name))
    .sort()
    .map((name) => {
      let closest = known[0];
      for (const k of known) if (distance(name, k) < distance(name, closest)) closest = k;
      return { name, closest };
    });
}
