/**
 * One contract, three outboxes: the in-memory double the relay was built against (test/graph/support/memory-outbox.ts)
 * and the SQL outbox of the store on PGlite (in memory) and on the PostgreSQL 15 server (a scratch database). For the
 * SQL outbox, rows are queued by real updates through the service (the store's update transaction and its outbox hook)
 * and erasures by the service's erase path (bkt_internal.erase_student). Proves, on each: one row per pair with the
 * first queueing time kept; the version guard (an older version never replaces a newer pending row); oldest first;
 * delete-if-unchanged; the lease with expiry by the store's clock, between two holders; stats and the last error;
 * erasure queueing a removal; and two real relays over the same outbox, only one working, ending with the graph equal
 * to the source of truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { OutboxRelay } from '../../src/graph/relay.js';
import type { OutboxPort, OutboxRow } from '../../src/service/graph-port.js';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import { MemoryOutbox } from '../graph/support/memory-outbox.js';
import { RecordingLogger, update as projection } from '../graph/support/relay-harness.js';
import { newId, startService, type TestService } from '../support/service.js';

interface Subject {
  readonly outbox: OutboxPort;
  /** Commits one update of the pair (and queues it, the way this outbox is fed). */
  update(student: string, concept: string): Promise<void>;
  /** Commits an update whose outbox version is older than the pair's pending one (a stale writer). */
  staleUpdate(student: string, concept: string): Promise<void>;
  erase(student: string): Promise<void>;
  /** The source of truth: latest level per `student|concept`. */
  truth(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

function memorySubject(): Subject {
  const outbox = new MemoryOutbox();
  let version = 1_000;
  return {
    outbox,
    update: async (s, c) => void outbox.enqueueMastery(projection(s, c, ++version)),
    staleUpdate: async (s, c) => void outbox.enqueueMastery(projection(s, c, 1)),
    erase: async (s) => outbox.enqueueRemoval(s, ++version),
    truth: async () => new Map([...outbox.truth].map(([k, p]) => [k, p.level])),
    close: async () => {},
  };
}

async function sqlSubject(driver: 'pglite' | 'postgres'): Promise<Subject> {
  const svc: TestService = await startService(driver);
  await setGraphEnabled(svc.db, true);
  const update = async (s: string, c: string): Promise<void> => {
    await svc.service.recordResponse({ studentId: s, conceptId: c, correct: Math.random() < 0.6 });
  };
  return {
    outbox: svc.graph.outbox,
    update,
    async staleUpdate(s, c) {
      // The sequence moved back: the next version handed out is older than any pending one.
      const [{ last }] = await svc.db.query<{ last: string }>('SELECT last_value::text AS last FROM bkt_internal.graph_version_seq');
      await svc.db.query("SELECT setval('bkt_internal.graph_version_seq', 1)");
      await update(s, c);
      await svc.db.query("SELECT setval('bkt_internal.graph_version_seq', $1::bigint)", [last]);
    },
    erase: async (s) => void (await svc.service.eraseStudent(s)),
    async truth() {
      const rows = await svc.db.query<{ s: string; c: string; level: number }>(
        'SELECT student_id::text AS s, concept_id::text AS c, p_known AS level FROM public.student_mastery WHERE n_responses > 0',
      );
      return new Map(rows.map((r) => [`${r.s}|${r.c}`, r.level]));
    },
    close: () => svc.stop(),
  };
}

const SUBJECTS: [string, () => Promise<Subject>][] = [
  ['in-memory double', async () => memorySubject()],
  ['SQL outbox on PGlite', () => sqlSubject('pglite')],
  ['SQL outbox on PostgreSQL 15', () => sqlSubject('postgres')],
];

const mastery = (rows: OutboxRow[]) => rows.filter((r) => r.kind === 'mastery');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(SUBJECTS)('outbox contract: %s', (_name, make) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await make();
  });
  afterAll(async () => {
    await subject?.close();
  });

  /** Empties the outbox so each test starts from nothing pending. */
  async function drain(): Promise<void> {
    for (;;) {
      const rows = await subject.outbox.readPending(1000);
      if (rows.length === 0) return;
      await subject.outbox.deleteIfUnchanged(rows);
    }
  }

  it('proves one row per pair: repeated updates raise its version and keep its first queueing time', async () => {
    await drain();
    const [s, c] = [newId(), newId()];
    await subject.update(s, c);
    const [first] = await subject.outbox.readPending(10);
    for (let i = 0; i < 4; i++) await subject.update(s, c);
    const rows = await subject.outbox.readPending(10);
    expect(rows).toHaveLength(1);
    const [last] = rows;
    expect(last).toMatchObject({ kind: 'mastery', student_id: s, concept_id: c });
    expect(last.version).toBeGreaterThan(first.version);
    expect(last.enqueued_at.getTime()).toBe(first.enqueued_at.getTime());
    if (last.kind === 'mastery') expect(last.level).toBe((await subject.truth()).get(`${s}|${c}`));
  });

  it('proves the version guard: an update carrying an older version does not replace the pending row', async () => {
    await drain();
    const [s, c] = [newId(), newId()];
    for (let i = 0; i < 3; i++) await subject.update(s, c);
    const [before] = await subject.outbox.readPending(10);
    await subject.staleUpdate(s, c);
    const after = await subject.outbox.readPending(10);
    expect(after).toEqual([before]);
  });

  it('proves readPending gives the oldest rows first, up to the limit', async () => {
    await drain();
    const students = [newId(), newId(), newId(), newId()];
    const c = newId();
    for (const s of students) {
      await subject.update(s, c);
      await sleep(5);
    }
    const firstTwo = await subject.outbox.readPending(2);
    expect(firstTwo.map((r) => r.student_id)).toEqual(students.slice(0, 2));
    // Updating the oldest pair again does not move it back in the queue.
    await subject.update(students[0], c);
    expect((await subject.outbox.readPending(4)).map((r) => r.student_id)).toEqual(students);
  });

  it('proves delete-if-unchanged: sent rows go, a row updated while its batch was in flight stays with its new version', async () => {
    await drain();
    const [s1, s2, c] = [newId(), newId(), newId()];
    await subject.update(s1, c);
    await subject.update(s2, c);
    const sent = await subject.outbox.readPending(10);
    await subject.update(s1, c); // committed while the batch is "in Neo4j"
    expect(await subject.outbox.deleteIfUnchanged(sent)).toBe(1);
    const left = await subject.outbox.readPending(10);
    expect(left).toHaveLength(1);
    expect(left[0].student_id).toBe(s1);
    expect(left[0].version).toBeGreaterThan(sent.find((r) => r.student_id === s1)!.version);
    expect(await subject.outbox.deleteIfUnchanged(sent)).toBe(0);
  });

  it('proves the lease: one holder at a time, renewal only by the holder, release frees it, expiry lets another take it', async () => {
    const [a, b] = [`a-${newId()}`, `b-${newId()}`];
    // A lease that must stay held is long, so that no stall of a loaded machine lets it lapse between two calls;
    // the one that must expire is short, and the test waits past it.
    const held = 60_000;
    const short = 300;
    // Any lease taken before this test (at most 400 ms long) has expired.
    await sleep(450);
    expect(await subject.outbox.acquireLease(a, held)).toBe(true);
    expect(await subject.outbox.acquireLease(b, held)).toBe(false);
    expect(await subject.outbox.acquireLease(a, held)).toBe(true);
    expect(await subject.outbox.renewLease(a, held)).toBe(true);
    expect(await subject.outbox.renewLease(b, held)).toBe(false);
    await subject.outbox.releaseLease(b); // not b's: no effect
    expect(await subject.outbox.acquireLease(b, held)).toBe(false);
    await subject.outbox.releaseLease(a);
    expect(await subject.outbox.acquireLease(b, short)).toBe(true);
    await sleep(short + 100); // b stops renewing (as if it died)
    expect(await subject.outbox.acquireLease(a, held)).toBe(true);
    expect(await subject.outbox.renewLease(b, short)).toBe(false);
    await subject.outbox.releaseLease(a);
  });

  it('proves stats count pending rows and age the oldest, and the last error is kept', async () => {
    await drain();
    expect(await subject.outbox.stats()).toMatchObject({ pending: 0, oldestEnqueuedAt: null, oldestAgeSeconds: 0 });
    const c = newId();
    await subject.update(newId(), c);
    await sleep(30);
    await subject.update(newId(), c);
    const stats = await subject.outbox.stats();
    expect(stats.pending).toBe(2);
    expect(stats.oldestAgeSeconds).toBeGreaterThan(0.02);
    await subject.outbox.recordError('ServiceUnavailable: could not connect');
    expect((await subject.outbox.stats()).lastError?.message).toBe('ServiceUnavailable: could not connect');
  });

  it("proves erasure drops the student's pending updates and queues one removal newer than them", async () => {
    await drain();
    const [s, other, c1, c2] = [newId(), newId(), newId(), newId()];
    await subject.update(s, c1);
    await subject.update(s, c2);
    await subject.update(other, c1);
    const versions = (await subject.outbox.readPending(10)).map((r) => r.version);
    await subject.erase(s);
    const rows = await subject.outbox.readPending(10);
    expect(mastery(rows).map((r) => r.student_id)).toEqual([other]);
    const removals = rows.filter((r) => r.kind === 'removal');
    expect(removals).toHaveLength(1);
    expect(removals[0]).toMatchObject({ kind: 'removal', student_id: s });
    expect(removals[0].version).toBeGreaterThan(Math.max(...versions));
  });

  it('proves two relays over one outbox: only the lease holder writes, the other takes over when it stops, the graph ends equal to the truth', async () => {
    await drain();
    const writer = new RecordingGraphWriter();
    const loggers = [new RecordingLogger(), new RecordingLogger()];
    const tuning = { batchSize: 5, pollIntervalMs: 20, leaseTtlMs: 1_000, backoff: { initialMs: 10, maxMs: 100 } };
    await sleep(tuning.leaseTtlMs); // any lease from an earlier test has expired
    const relays = loggers.map((logger, i) => new OutboxRelay({ outbox: subject.outbox, writer, logger, holder: `relay-${i}-${newId()}`, ...tuning }));
    const students = Array.from({ length: 6 }, () => newId());
    const concepts = Array.from({ length: 4 }, () => newId());
    relays[0].start();
    relays[1].start();
    for (let round = 0; round < 3; round++) {
      for (const s of students) for (const c of concepts) await subject.update(s, c);
      for (const r of relays) r.notify();
    }
    await subject.erase(students[0]);
    await subject.update(students[0], concepts[0]); // after the erasure: must survive the removal
    for (const r of relays) r.notify();
    const until = async (ok: () => Promise<boolean>) => {
      for (let i = 0; i < 500 && !(await ok()); i++) await sleep(20);
    };
    await until(async () => (await subject.outbox.stats()).pending === 0);
    const holders = relays.filter((r) => r.metrics().holdsLease);
    expect(holders).toHaveLength(1);
    const worker = relays.indexOf(holders[0]);
    expect(loggers[1 - worker].matching(/holds the lease/)).toHaveLength(0);

    // The worker stops (releasing the lease); the other relays what comes next.
    await relays[worker].stop();
    for (const c of concepts) await subject.update(students[1], c);
    relays[1 - worker].notify();
    await until(async () => (await subject.outbox.stats()).pending === 0 && relays[1 - worker].metrics().holdsLease);
    await relays[1 - worker].stop();
    expect(loggers[1 - worker].matching(/holds the lease/)).toHaveLength(1);

    expect((await subject.outbox.stats()).pending).toBe(0);
    const truth = await subject.truth();
    const graph = writer.snapshot();
    const mine = new Map([...graph].filter(([k]) => students.some((s) => k.startsWith(`${s}|`))));
    const expected = new Map([...truth].filter(([k]) => students.some((s) => k.startsWith(`${s}|`))));
    expect(mine.size).toBe(expected.size);
    for (const [key, level] of expected) expect(mine.get(key)?.level).toBe(level);
    expect(writer.get(students[0], concepts[0])).toBeDefined();
    expect(writer.get(students[0], concepts[1])).toBeUndefined();
  });
});
