/** The graph adapter: the Neo4j settings' types, the Neo4j writer, the outbox relay and the recording test double. */
export { describeNeo4jConfig, type GraphConfig, type Neo4jConfig } from './config.js';
export { Neo4jGraphWriter, createNeo4jWriter } from './neo4j-writer.js';
export { OutboxRelay, realTimers, type CycleOutcome, type RelayLogger, type RelayOptions, type RelayTimers } from './relay.js';
export { RecordingGraphWriter, type RecordedMastery } from './recording-writer.js';
export { backoffDelay, type BackoffPolicy } from './backoff.js';
export { WakeLimiter } from './wake.js';
