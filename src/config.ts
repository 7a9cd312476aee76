/**
 * The service's settings, read once from the environment into a frozen, validated object. Only entry points pass
 * `process.env`; everything else receives the Config. Each setting is listed (with its default) by `bkt serve --help`.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

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
  readonly requestTimeoutMs: number;
  readonly paramsRefreshMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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

interface Setting {
  readonly name: string;
  readonly default: string;
  readonly description: string;
}

/** Every setting, in the order `bkt serve --help` and the README list them. */
export const SETTINGS: readonly Setting[] = [
  { name: 'PORT', default: '3000', description: 'HTTP port' },
  { name: 'HOST', default: '127.0.0.1', description: 'address to bind; non-loopback needs tokens and a server database' },
  { name: 'DATABASE_URL', default: '(unset)', description: 'PostgreSQL URL (sslmode=require for TLS); unset = embedded PGlite' },
  { name: 'BKT_DATA_DIR', default: './.bkt/data', description: "PGlite data directory ('memory://' keeps nothing)" },
  { name: 'BKT_SERVICE_TOKENS', default: '(unset)', description: 'comma-separated bearer tokens (>= 32 chars or sha256:<hex>)' },
  { name: 'BKT_ADMIN_TOKENS', default: '(unset)', description: 'comma-separated admin bearer tokens (same forms)' },
  { name: 'BKT_ALLOW_UNSAFE_BIND', default: 'false', description: 'allow a non-loopback HOST without tokens or with PGlite' },
  { name: 'BKT_MIGRATE', default: 'true', description: 'apply pending migrations at start' },
  { name: 'BKT_MASTERY_THRESHOLD', default: '0.95', description: 'P(L) at or above which a concept is mastered' },
  { name: 'BKT_STATEMENT_TIMEOUT_MS', default: '5000', description: 'statement timeout per transaction' },
  { name: 'BKT_LOCK_TIMEOUT_MS', default: '2000', description: 'row lock wait before 503' },
  { name: 'BKT_POOL_SIZE', default: '10', description: 'database connections (server only)' },
  { name: 'BKT_POOL_TIMEOUT_MS', default: '2000', description: 'wait for a free connection before 503' },
  { name: 'BKT_REQUEST_TIMEOUT_MS', default: '10000', description: 'HTTP request timeout' },
  { name: 'BKT_PARAMS_REFRESH_MS', default: '500', description: 'how often parameter changes are polled' },
  { name: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
];

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

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got '${raw}'`);
}

const DIGEST = /^sha256:([0-9a-f]{64})$/i;

/** Tokens are kept only as SHA-256 digests, so that they are compared in constant time and never held in clear. */
function tokens(env: Env, name: string): Buffer[] {
  const raw = value(env, name);
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env): Config {
  const host = value(env, 'HOST') ?? '127.0.0.1';
  const databaseUrl = value(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const threshold = Number(value(env, 'BKT_MASTERY_THRESHOLD') ?? '0.95');
  if (!(threshold > 0 && threshold <= 1)) {
    throw new ConfigError('BKT_MASTERY_THRESHOLD', `must be a number in (0, 1], got '${value(env, 'BKT_MASTERY_THRESHOLD')}'`);
  }
  const logLevel = (value(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  }
  const config: Config = {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    databaseUrl,
    dataDir: value(env, 'BKT_DATA_DIR') ?? './.bkt/data',
    serviceTokenDigests: tokens(env, 'BKT_SERVICE_TOKENS'),
    adminTokenDigests: tokens(env, 'BKT_ADMIN_TOKENS'),
    allowUnsafeBind: boolean(env, 'BKT_ALLOW_UNSAFE_BIND', false),
    migrateOnStart: boolean(env, 'BKT_MIGRATE', true),
    masteryThreshold: threshold,
    statementTimeoutMs: integer(env, 'BKT_STATEMENT_TIMEOUT_MS', 5000, 1, 600_000),
    lockTimeoutMs: integer(env, 'BKT_LOCK_TIMEOUT_MS', 2000, 1, 600_000),
    poolSize: integer(env, 'BKT_POOL_SIZE', 10, 1, 1000),
    poolTimeoutMs: integer(env, 'BKT_POOL_TIMEOUT_MS', 2000, 1, 600_000),
    requestTimeoutMs: integer(env, 'BKT_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
    paramsRefreshMs: integer(env, 'BKT_PARAMS_REFRESH_MS', 500, 10, 60_000),
    logLevel: logLevel as Config['logLevel'],
  };
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
