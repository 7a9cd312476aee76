/**
 * The real neo4j-driver pointed at a closed port on 127.0.0.1 (nothing listens there), with the in-memory outbox.
 * Proves: a write fails with ServiceUnavailable instead of hanging (the connection timeout is bounded); updates keep
 * being accepted without error while the relay retries; the outbox holds one row per pair; metrics show the lag; one
 * warning for the whole outage; and when a working writer takes over (as if Neo4j came back) the backlog drains and the
 * graph equals the source of truth. The working writer is the RecordingGraphWriter test double, not Neo4j.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNeo4jWriter, type Neo4jGraphWriter } from '../../src/graph/neo4j-writer.js';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { OutboxRelay } from '../../src/graph/relay.js';
import type { GraphBatch, GraphWriter } from '../../src/service/graph-port.js';
import { MemoryOutbox } from './support/memory-outbox.js';
import { RecordingLogger, eventually, update } from './support/relay-harness.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** Forwards to whichever writer is current: lets a test "bring Neo4j back" under a running relay. */
class SwitchableWriter implements GraphWriter {
  constructor(public current: GraphWriter) {}
  ensureConstraints(): Promise<void> {
    return this.current.ensureConstraints();
  }
  write(batch: GraphBatch): Promise<void> {
    return this.current.write(batch);
  }
  close(): Promise<void> {
    return this.current.close();
  }
}

/** Real wall-clock waits, but long enough that the test does not depend on their exact length. */
async function pause(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('neo4j-driver at a closed port', () => {
  let neo4jWriter: Neo4jGraphWriter;

  beforeAll(async () => {
    neo4jWriter = createNeo4jWriter({
      uri: `bolt://127.0.0.1:${await closedPort()}`,
      user: 'neo4j',
      password: 'not-a-real-password',
      database: 'neo4j',
      maxConnectionPoolSize: 2,
      connectionTimeoutMs: 1_000,
      transactionTimeoutMs: 2_000,
    });
  });

  afterAll(async () => {
    await neo4jWriter.close();
  });

  it('a write is refused with ServiceUnavailable rather than hanging', async () => {
    const error = await neo4jWriter.write({ upserts: [update('s1', 'c1', 1)], removals: [] }).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(error?.code).toBe('ServiceUnavailable');
    await expect(neo4jWriter.ensureConstraints()).rejects.toMatchObject({ code: 'ServiceUnavailable' });
  });

  it('updates go on while the relay retries; the backlog drains when a working writer takes over', async () => {
    const outbox = new MemoryOutbox();
    const logger = new RecordingLogger();
    const writer = new SwitchableWriter(neo4jWriter);
    const relay = new OutboxRelay({
      outbox,
      writer,
      logger,
      batchSize: 7,
      pollIntervalMs: 20,
      leaseTtlMs: 5_000,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    relay.start();
    // 300 updates over 20 pairs, each followed by notify() as the service does after its commit.
    let version = 0;
    for (let round = 0; round < 15; round++) {
      for (let pair = 0; pair < 20; pair++) {
        outbox.enqueueMastery(update(`s${pair % 5}`, `c${Math.floor(pair / 5)}`, ++version));
        expect(() => relay.notify()).not.toThrow();
      }
      await pause(50);
    }
    await eventually(() => relay.metrics().failures >= 2, 10_000_000);
    expect(outbox.size).toBe(20);
    await eventually(() => relay.metrics().pending === 20, 10_000_000);
    const lagging = relay.metrics();
    expect(lagging).toMatchObject({ failing: true, holdsLease: true, pending: 20 });
    expect(lagging.oldestPendingSeconds).toBeGreaterThan(0);
    expect(outbox.lastError).toMatch(/^ServiceUnavailable: /);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0].fields).toMatchObject({ stage: 'graph' });

    const recording = new RecordingGraphWriter();
    writer.current = recording;
    await eventually(() => outbox.size === 0 && relay.metrics().pending === 0, 10_000_000);
    await relay.stop();

    expect(logger.warnings).toHaveLength(1);
    expect(logger.matching(/recovered after \d+ failed attempts/)).toHaveLength(1);
    expect(recording.batches.every((b) => b.upserts.length <= 7)).toBe(true);
    const graph = recording.snapshot();
    expect(graph.size).toBe(outbox.truth.size);
    for (const [key, p] of outbox.truth) expect(graph.get(key)).toMatchObject({ version: p.version, level: p.level });
  });
});
