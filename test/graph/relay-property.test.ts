/**
 * Proves the central claim on random histories: whatever the interleaving of updates, erasures, updates committed while
 * a batch is in flight, and graph outages, once the graph is reachable again and the relay has run, the graph equals
 * the source of truth (latest version of every pair, erased students absent) and the outbox is empty — no update lost,
 * none applied out of order. Against the in-memory outbox and the RecordingGraphWriter test double.
 * fast-check prints the seed of a failing run; rerun it with FC_SEED=<seed>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { OutboxRelay } from '../../src/graph/relay.js';
import { MemoryOutbox } from './support/memory-outbox.js';
import { FakeClock, RecordingLogger, steppingTimers, update } from './support/relay-harness.js';

type Step =
  | { op: 'update'; student: number; concept: number }
  | { op: 'erase'; student: number }
  | { op: 'updateInFlight'; student: number; concept: number }
  | { op: 'graphDown' }
  | { op: 'graphUp' }
  | { op: 'relay' };

const student = fc.integer({ min: 0, max: 4 });
const concept = fc.integer({ min: 0, max: 3 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('update' as const), student, concept }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('erase' as const), student }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('updateInFlight' as const), student, concept }) },
  { weight: 1, arbitrary: fc.constant({ op: 'graphDown' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'graphUp' as const }) },
  { weight: 4, arbitrary: fc.constant({ op: 'relay' as const }) },
);

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

describe('relay on random histories', () => {
  it('ends with the graph equal to the source of truth and an empty outbox', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 120 }), fc.integer({ min: 1, max: 6 }), async (steps, batchSize) => {
        const clock = new FakeClock();
        const outbox = new MemoryOutbox(clock.now);
        const writer = new RecordingGraphWriter();
        const relay = new OutboxRelay({
          outbox,
          writer,
          logger: new RecordingLogger(),
          holder: 'r',
          batchSize,
          pollIntervalMs: 1_000,
          leaseTtlMs: 30_000,
          backoff: { initialMs: 10, maxMs: 100 },
          timers: steppingTimers(clock, 1_000),
        });
        let version = 0;
        for (const s of steps) {
          clock.advance(1);
          if (s.op === 'update') outbox.enqueueMastery(update(`s${s.student}`, `c${s.concept}`, ++version));
          else if (s.op === 'erase') outbox.enqueueRemoval(`s${s.student}`, ++version);
          else if (s.op === 'updateInFlight') {
            outbox.afterRead = () => {
              outbox.afterRead = null;
              outbox.enqueueMastery(update(`s${s.student}`, `c${s.concept}`, ++version));
            };
          } else if (s.op === 'graphDown') writer.setDown(new Error('down'));
          else if (s.op === 'graphUp') writer.setDown(null);
          else await relay.runOnce();
        }
        writer.setDown(null);
        outbox.afterRead = null;
        for (let i = 0; i < 1_000 && outbox.size > 0; i++) await relay.runOnce();
        expect(outbox.size).toBe(0);
        const graph = writer.snapshot();
        expect([...graph.keys()].sort()).toEqual([...outbox.truth.keys()].sort());
        for (const [key, p] of outbox.truth) expect(graph.get(key)?.version).toBe(p.version);
        for (let s = 0; s < 5; s++) {
          const expected = [...outbox.truth.keys()].some((k) => k.startsWith(`s${s}|`));
          expect(writer.hasStudent(`s${s}`)).toBe(expected);
        }
      }),
      { numRuns: 300, ...(seed === undefined ? {} : { seed }) },
    );
  });
});
