/**
 * The relay's logic against the in-memory outbox (test/graph/support/memory-outbox.ts, mimicking the SQL upsert and
 * lease) and the RecordingGraphWriter test double (same guard rules as the Cypher). Each test names what it proves.
 * Nothing here touches Neo4j or PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/graph/backoff.js';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { OutboxRelay, type RelayOptions } from '../../src/graph/relay.js';
import { MemoryOutbox } from './support/memory-outbox.js';
import { FakeClock, RecordingLogger, eventually, steppingTimers, update } from './support/relay-harness.js';

const POLL = 60_000;
const TTL = 30_000;

function setup(overrides: Partial<RelayOptions> = {}) {
  const clock = new FakeClock();
  const outbox = new MemoryOutbox(clock.now);
  const writer = new RecordingGraphWriter();
  const logger = new RecordingLogger();
  const timers = steppingTimers(clock, POLL);
  const relay = new OutboxRelay({
    outbox,
    writer,
    logger,
    holder: 'relay-a',
    batchSize: 100,
    pollIntervalMs: POLL,
    leaseTtlMs: TTL,
    backoff: { initialMs: 100, maxMs: 3_200 },
    random: () => 0.5,
    timers,
    ...overrides,
  });
  return { clock, outbox, writer, logger, timers, relay };
}

/** The graph equals the source of truth (latest version per pair), field by field. */
function expectGraphMatchesTruth(outbox: MemoryOutbox, writer: RecordingGraphWriter): void {
  const graph = writer.snapshot();
  expect(graph.size).toBe(outbox.truth.size);
  for (const [key, p] of outbox.truth) {
    expect(graph.get(key)).toEqual({ level: p.level, mastered: p.mastered, version: p.version, updated_at: p.updated_at });
  }
}

describe('backoffDelay', () => {
  it('proves: the ceiling doubles per attempt up to the cap, and jitter stays in its upper half', () => {
    const policy = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(backoffDelay(1_000, policy, () => 0.5)).toBe(750);
    expect(() => backoffDelay(0, policy)).toThrow(/attempt/);
  });
});

describe('OutboxRelay', () => {
  it('proves batching: full batches oldest first, one writer call each, then idle; the graph equals the truth', async () => {
    const { clock, outbox, writer, relay } = setup();
    for (let i = 0; i < 250; i++) {
      outbox.enqueueMastery(update(`s${i}`, 'c1', i + 1));
      clock.advance(1);
    }
    expect(await relay.runOnce()).toBe('more');
    expect(await relay.runOnce()).toBe('more');
    expect(await relay.runOnce()).toBe('drained');
    expect(await relay.runOnce()).toBe('idle');
    expect(writer.batches.map((b) => b.upserts.length)).toEqual([100, 100, 50]);
    expect(writer.batches[0].upserts[0].student_id).toBe('s0');
    expect(writer.batches[2].upserts.at(-1)!.student_id).toBe('s249');
    expect(outbox.size).toBe(0);
    expect(writer.constraintsEnsured).toBe(1);
    expectGraphMatchesTruth(outbox, writer);
  });

  it('proves the outbox keeps one row per pair however many updates, and an older version never replaces a newer one', async () => {
    const { outbox, writer, relay } = setup();
    for (let v = 1; v <= 50; v++) outbox.enqueueMastery(update('s1', 'c1', v));
    expect(outbox.enqueueMastery(update('s1', 'c1', 10))).toBe(false);
    expect(outbox.size).toBe(1);
    expect(outbox.pendingVersion('s1', 'c1')).toBe(50);
    await relay.runOnce();
    expect(writer.get('s1', 'c1')?.version).toBe(50);
  });

  it('proves the graph-side guard: a batch carrying an older or equal version leaves the newer relationship alone', async () => {
    const writer = new RecordingGraphWriter();
    await writer.write({ upserts: [update('s1', 'c1', 5)], removals: [] });
    await writer.write({ upserts: [update('s1', 'c1', 3)], removals: [] });
    await writer.write({ upserts: [{ ...update('s1', 'c1', 5), level: 0.01 }], removals: [] });
    const v5 = update('s1', 'c1', 5);
    expect(writer.get('s1', 'c1')).toEqual({ level: v5.level, mastered: v5.mastered, version: 5, updated_at: v5.updated_at });
    await writer.write({ upserts: [update('s1', 'c1', 6)], removals: [] });
    expect(writer.get('s1', 'c1')?.version).toBe(6);
  });

  it('proves delete-if-unchanged: a pair updated while its batch is in flight stays pending and is sent next', async () => {
    const { outbox, writer, relay } = setup();
    outbox.enqueueMastery(update('s1', 'c1', 1));
    outbox.enqueueMastery(update('s2', 'c1', 2));
    outbox.afterRead = () => {
      outbox.afterRead = null;
      outbox.enqueueMastery(update('s1', 'c1', 3)); // committed after the read, before the delete
    };
    expect(await relay.runOnce()).toBe('drained');
    expect(writer.get('s1', 'c1')?.version).toBe(1);
    expect(outbox.size).toBe(1);
    expect(outbox.pendingVersion('s1', 'c1')).toBe(3);
    expect(await relay.runOnce()).toBe('drained');
    expect(writer.get('s1', 'c1')?.version).toBe(3);
    expect(outbox.size).toBe(0);
    expectGraphMatchesTruth(outbox, writer);
  });

  it('proves retry with backoff: a failing writer is retried with growing jittered delays until it succeeds, nothing lost', async () => {
    const { outbox, writer, timers, relay } = setup();
    writer.failNext(7, Object.assign(new Error('connection refused'), { code: 'ServiceUnavailable' }));
    for (let i = 0; i < 30; i++) outbox.enqueueMastery(update(`s${i}`, `c${i % 3}`, i + 1));
    relay.start();
    relay.notify();
    await eventually(() => outbox.size === 0);
    await relay.stop();
    // The first attempt (constraints) and 6 retries failed; random() = 0.5 puts each delay at 3/4 of its ceiling.
    expect(timers.backoffs).toEqual([75, 150, 300, 600, 1200, 2400, 2400]);
    expect(relay.metrics()).toMatchObject({ failures: 7, failing: false, pending: 0 });
    expect(outbox.lastError).toBe('ServiceUnavailable: connection refused');
    expectGraphMatchesTruth(outbox, writer);
  });

  it('proves one warning per outage, with a count, and an info line on recovery; a second outage warns again', async () => {
    const { clock, outbox, writer, logger, relay } = setup();
    await relay.runOnce(); // constraints ensured, lease taken
    writer.setDown(new Error('Neo4j away'));
    for (let i = 0; i < 5; i++) outbox.enqueueMastery(update('s1', `c${i}`, i + 1));
    for (let i = 0; i < 20; i++) expect(await relay.runOnce()).toBe('failed');
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0].fields).toMatchObject({ stage: 'graph', pending: 5 });
    expect(logger.warnings[0].message).toMatch(/5 rows pending/);
    expect(relay.metrics()).toMatchObject({ failing: true, failures: 20, pending: 5 });
    // The backlog keeps growing during the outage, and the figures follow it (read at most once per poll interval).
    outbox.enqueueMastery(update('s2', 'c0', 6));
    clock.advance(POLL);
    expect(await relay.runOnce()).toBe('failed');
    expect(relay.metrics()).toMatchObject({ failures: 21, pending: 6 });
    expect(relay.metrics().oldestPendingSeconds).toBe(POLL / 1000);
    clock.advance(5_000); // no cycle in between: the age still grows
    expect(relay.metrics().oldestPendingSeconds).toBe(POLL / 1000 + 5);
    expect(logger.warnings).toHaveLength(1);
    writer.setDown(null);
    expect(await relay.runOnce()).toBe('drained');
    const recovered = logger.matching(/recovered/);
    expect(recovered).toHaveLength(1);
    expect(recovered[0].fields).toMatchObject({ failedAttempts: 21 });
    writer.setDown(new Error('Neo4j away again'));
    outbox.enqueueMastery(update('s1', 'c0', 9));
    for (let i = 0; i < 3; i++) await relay.runOnce();
    expect(logger.warnings).toHaveLength(2);
    expect(relay.metrics().failures).toBe(24);
  });

  it('proves notify() and the loop never throw while the graph is down, and stop() ends a loop that is backing off', async () => {
    const { outbox, writer, relay, timers } = setup();
    writer.setDown(new Error('down'));
    relay.start();
    for (let i = 0; i < 100; i++) {
      outbox.enqueueMastery(update(`s${i % 10}`, 'c1', i + 1));
      relay.notify();
    }
    await eventually(() => timers.backoffs.length >= 5);
    expect(outbox.size).toBe(10); // one row per pair
    await relay.stop();
    expect(relay.metrics().holdsLease).toBe(false);
    expect(outbox.leaseHolder).toBeNull();
  });

  it('proves notify() wakes an idle relay at once (the poll wait in this test never ends by itself)', async () => {
    const { outbox, writer, relay } = setup();
    relay.start();
    await eventually(() => outbox.calls.readPending === 1); // first cycle found nothing
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve)); // now waiting for the poll
    outbox.enqueueMastery(update('s1', 'c1', 1));
    relay.notify();
    await eventually(() => writer.get('s1', 'c1') !== undefined);
    await relay.stop();
  });

  it('proves a notify during a cycle is not lost: rows committed mid-cycle are sent without waiting for the poll', async () => {
    const { outbox, writer, relay } = setup();
    outbox.enqueueMastery(update('s1', 'c1', 1));
    outbox.afterRead = () => {
      outbox.afterRead = null;
      outbox.enqueueMastery(update('s2', 'c1', 2));
      relay.notify();
    };
    relay.start();
    relay.notify();
    // The poll wait of steppingTimers never ends by itself, so only the notify can deliver s2.
    await eventually(() => writer.get('s2', 'c1') !== undefined);
    await relay.stop();
    expect(outbox.size).toBe(0);
  });

  it('proves the outbox failing (database down) is retried the same way and never throws', async () => {
    const { outbox, writer, logger, relay } = setup();
    outbox.enqueueMastery(update('s1', 'c1', 1));
    outbox.down = new Error('database unavailable');
    expect(await relay.runOnce()).toBe('failed');
    expect(await relay.runOnce()).toBe('failed');
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0].fields).toMatchObject({ stage: 'outbox' });
    outbox.down = null;
    expect(await relay.runOnce()).toBe('drained');
    expect(writer.get('s1', 'c1')?.version).toBe(1);
  });

  it('proves the lease: of two relays only one works; the other takes over once the lease expires', async () => {
    const a = setup();
    const { clock, outbox, writer } = a;
    const logger = new RecordingLogger();
    const relayB = new OutboxRelay({
      outbox,
      writer,
      logger,
      holder: 'relay-b',
      batchSize: 100,
      pollIntervalMs: POLL,
      leaseTtlMs: TTL,
      backoff: { initialMs: 100, maxMs: 3_200 },
      timers: steppingTimers(clock, POLL),
    });
    outbox.enqueueMastery(update('s1', 'c1', 1));
    expect(await a.relay.runOnce()).toBe('drained');
    outbox.enqueueMastery(update('s2', 'c1', 2));
    expect(await relayB.runOnce()).toBe('standby');
    expect(outbox.calls.readPending).toBe(1); // B did not even read
    expect(relayB.metrics()).toMatchObject({ holdsLease: false, pending: 1 });
    // A goes silent (as if its process hung or died) without releasing the lease.
    clock.advance(TTL - 1);
    expect(await relayB.runOnce()).toBe('standby');
    clock.advance(2);
    expect(await relayB.runOnce()).toBe('drained');
    expect(writer.get('s2', 'c1')?.version).toBe(2);
    expect(outbox.leaseHolder).toBe('relay-b');
    // A comes back: its renewal fails, it stands by and sends nothing.
    outbox.enqueueMastery(update('s3', 'c1', 3));
    const batchesBefore = writer.batches.length;
    expect(await a.relay.runOnce()).toBe('standby');
    expect(writer.batches.length).toBe(batchesBefore);
    expect(a.logger.matching(/lease taken by another instance/)).toHaveLength(1);
  });

  it('proves a graceful stop frees the lease so a standby relay takes over at once', async () => {
    const a = setup();
    const relayB = new OutboxRelay({
      outbox: a.outbox,
      writer: a.writer,
      logger: new RecordingLogger(),
      holder: 'relay-b',
      pollIntervalMs: POLL,
      leaseTtlMs: TTL,
      backoff: { initialMs: 100, maxMs: 3_200 },
      timers: steppingTimers(a.clock, POLL),
    });
    a.relay.start();
    a.relay.notify();
    await eventually(() => a.outbox.leaseHolder === 'relay-a');
    expect(await relayB.runOnce()).toBe('standby');
    await a.relay.stop();
    a.outbox.enqueueMastery(update('s9', 'c1', 1));
    expect(await relayB.runOnce()).toBe('drained');
    expect(a.writer.get('s9', 'c1')?.version).toBe(1);
  });

  it('proves erasure: removal deletes the relationships written before it and the student node, not later updates', async () => {
    const { outbox, writer, relay } = setup();
    outbox.enqueueMastery(update('s1', 'c1', 1));
    outbox.enqueueMastery(update('s1', 'c2', 2));
    outbox.enqueueMastery(update('s2', 'c1', 3));
    await relay.runOnce();
    outbox.enqueueMastery(update('s1', 'c1', 4)); // pending when the student is erased: dropped with the erasure
    outbox.enqueueRemoval('s1', 5);
    expect(outbox.size).toBe(1);
    await relay.runOnce();
    expect(writer.hasStudent('s1')).toBe(false);
    expect(writer.hasConcept('c2')).toBe(true);
    expect(writer.get('s2', 'c1')?.version).toBe(3);
    // The same id used again after the erasure: its new relationship survives a replay of the old removal.
    outbox.enqueueMastery(update('s1', 'c3', 6));
    await relay.runOnce();
    await writer.write({ upserts: [], removals: [{ student_id: 's1', version: 5 }] });
    expect(writer.get('s1', 'c3')?.version).toBe(6);
    expectGraphMatchesTruth(outbox, writer);
  });

  it('rejects unusable options, naming the option', () => {
    expect(() => setup({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => setup({ leaseTtlMs: 1_000 })).toThrow(/leaseTtlMs/);
    expect(() => setup({ backoff: { initialMs: 0, maxMs: 10 } })).toThrow(/backoff.initialMs/);
  });
});
