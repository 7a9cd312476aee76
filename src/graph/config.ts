/** Neo4j settings, read once from the environment the entry point passes in and validated. */

/** A setting that is missing or malformed; `field` names the environment variable. */
export class GraphConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'GraphConfigError';
    this.field = field;
  }
}

export interface Neo4jConfig {
  readonly uri: string;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Most connections the driver keeps open; the relay uses one at a time, the rest is headroom. */
  readonly maxConnectionPoolSize: number;
  /** How long opening a connection may take before the attempt fails (so an outage is noticed quickly). */
  readonly connectionTimeoutMs: number;
  /** How long a batch's transaction may run on the server before it is aborted. */
  readonly transactionTimeoutMs: number;
}

/** Either the relay can run, or it cannot and `reason` says why (logged once at start-up). */
export type GraphConfig =
  | { readonly enabled: true; readonly neo4j: Neo4jConfig }
  | { readonly enabled: false; readonly reason: string };

const SCHEMES = ['neo4j', 'neo4j+s', 'neo4j+ssc', 'bolt', 'bolt+s', 'bolt+ssc'];
const DEFAULT_DATABASE = 'neo4j';
// Database names: letters, digits, dots and dashes, 3 to 63 characters, starting with a letter (Neo4j's own rule).
const DATABASE_NAME = /^[A-Za-z][A-Za-z0-9.-]{2,62}$/;

type Env = Readonly<Record<string, string | undefined>>;

function setting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Reads NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE (default `neo4j`); throws GraphConfigError. */
export function loadGraphConfig(env: Env): GraphConfig {
  const uri = setting(env, 'NEO4J_URI');
  if (uri === undefined) {
    const stray = ['NEO4J_USER', 'NEO4J_PASSWORD', 'NEO4J_DATABASE'].find((name) => setting(env, name) !== undefined);
    if (stray !== undefined) throw new GraphConfigError('NEO4J_URI', `is not set, but ${stray} is; set both or neither`);
    return Object.freeze({ enabled: false, reason: 'NEO4J_URI is not set: this instance queues graph updates but does not relay them' });
  }
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new GraphConfigError('NEO4J_URI', `is not a URL (expected e.g. neo4j+s://host or bolt://host:7687)`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!SCHEMES.includes(scheme)) {
    throw new GraphConfigError('NEO4J_URI', `scheme "${scheme}" is not one of ${SCHEMES.join(', ')}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new GraphConfigError('NEO4J_URI', 'must not contain credentials; use NEO4J_USER and NEO4J_PASSWORD');
  }
  const user = setting(env, 'NEO4J_USER');
  if (user === undefined) throw new GraphConfigError('NEO4J_USER', 'is required when NEO4J_URI is set');
  const password = env.NEO4J_PASSWORD;
  if (password === undefined || password === '') {
    throw new GraphConfigError('NEO4J_PASSWORD', 'is required when NEO4J_URI is set');
  }
  const database = setting(env, 'NEO4J_DATABASE') ?? DEFAULT_DATABASE;
  if (!DATABASE_NAME.test(database)) {
    throw new GraphConfigError('NEO4J_DATABASE', `"${database}" is not a valid database name (a letter, then 2-62 letters, digits, dots or dashes)`);
  }
  return Object.freeze({
    enabled: true,
    neo4j: Object.freeze({
      uri,
      user,
      password,
      database,
      maxConnectionPoolSize: 4,
      connectionTimeoutMs: 3_000,
      transactionTimeoutMs: 10_000,
    }),
  });
}

/** The settings without the password, for logs. */
export function describeNeo4jConfig(config: Neo4jConfig): string {
  return `${config.uri} database=${config.database} user=${config.user}`;
}
