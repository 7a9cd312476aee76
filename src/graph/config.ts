/**
 * The shape of the Neo4j settings. They are parsed with every other setting by loadConfig() in src/config.ts (the
 * NEO4J_* rows of its table); this file holds only the types and what is derived from values already parsed.
 */

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

/** The settings without the password, for logs. */
export function describeNeo4jConfig(config: Neo4jConfig): string {
  return `${config.uri} database=${config.database} user=${config.user}`;
}
