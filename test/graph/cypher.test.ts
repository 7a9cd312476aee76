/**
 * Proves: every statement in src/graph/cypher.ts is valid Cypher to Neo4j's own parser and linter (the language
 * support package embeds Neo4j's Cypher front end, compiled to JavaScript: syntax, variable scoping, deprecations), and the writer sends each statement with exactly the parameters it names, with row fields that
 * exist. Does NOT prove that Neo4j executes them as intended (see neo4j-live.test.ts, run only with NEO4J_URI).
 */
import neo4j from 'neo4j-driver';
import { describe, expect, it } from 'vitest';
import { ALL_STATEMENTS, UPSERT_MASTERY } from '../../src/graph/cypher.js';
import { Neo4jGraphWriter, type Neo4jDriverLike } from '../../src/graph/neo4j-writer.js';
import type { GraphBatch } from '../../src/service/graph-port.js';
import { lintCypher, parseCypher } from './support/cypher-parser.js';

interface SentStatement {
  query: string;
  params: Record<string, unknown>;
  database: string | undefined;
}

/** A stand-in driver that records what the real writer hands to `tx.run`; it talks to no server. */
function recordingDriver(sent: SentStatement[]): Neo4jDriverLike {
  const driver = {
    session(config?: { database?: string }) {
      return {
        async executeWrite(work: (tx: unknown) => Promise<unknown>) {
          return work({
            run: async (query: string, params?: Record<string, unknown>) => {
              sent.push({ query, params: params ?? {}, database: config?.database });
              return { records: [], summary: {} };
            },
          });
        },
        async close() {},
      };
    },
    async close() {},
  };
  return driver as unknown as Neo4jDriverLike;
}

const batch: GraphBatch = {
  removals: [{ student_id: 's-erased', version: 9 }],
  upserts: [
    { student_id: 's1', concept_id: 'c1', level: 0.42, mastered: false, version: 7, updated_at: '2026-01-02T03:04:05.678Z' },
    { student_id: 's2', concept_id: 'c1', level: 0.97, mastered: true, version: 8, updated_at: '2026-01-02T03:04:06.000Z' },
  ],
};

async function sentByWriter(): Promise<SentStatement[]> {
  const sent: SentStatement[] = [];
  const writer = new Neo4jGraphWriter(recordingDriver(sent), { database: 'graphdb', transactionTimeoutMs: 1000 });
  await writer.ensureConstraints();
  await writer.write(batch);
  return sent;
}

/** Fields read from an UNWIND variable, e.g. `row.level` -> level. */
function fieldsRead(query: string, variable: string): string[] {
  return [...new Set([...query.matchAll(new RegExp(`\\b${variable}\\.(\\w+)`, 'g'))].map((m) => m[1]))].sort();
}

describe('Cypher statements', () => {
  it.each(ALL_STATEMENTS.map((s) => [s.split('\n')[0].slice(0, 60), s]))('%s ... parses and lints clean', (_name, statement) => {
    const [parsed, ...more] = parseCypher(statement);
    expect(more).toHaveLength(0);
    expect(parsed.syntaxErrors).toEqual([]);
    expect(lintCypher(statement, parsed.parameters)).toEqual([]);
    expect(parsed.functions.every((f) => f === 'datetime')).toBe(true);
  });

  it('the parser can fail: it reports a broken copy of the upsert and an out-of-scope variable', () => {
    const broken = UPSERT_MASTERY.replace('MERGE (c:Concept {id: row.concept_id})', 'MERGE (c:Concept {id: row.concept_id}');
    expect(lintCypher(broken, ['rows']).map((d) => d.message).join('\n')).toMatch(/Invalid input 'MERGE'/);
    const outOfScope = UPSERT_MASTERY.replace('WITH r, row', 'WITH r');
    expect(lintCypher(outOfScope, ['rows']).map((d) => d.message).join('\n')).toMatch(/row/);
  });

  it('the writer sends every statement, each with exactly the parameters it names, to the configured database', async () => {
    const sent = await sentByWriter();
    expect(new Set(sent.map((s) => s.query))).toEqual(new Set(ALL_STATEMENTS));
    for (const { query, params, database } of sent) {
      expect(database).toBe('graphdb');
      expect(Object.keys(params).sort()).toEqual(parseCypher(query)[0].parameters);
    }
  });

  it('each UNWIND statement reads exactly the fields of the rows it is given, with versions as Neo4j integers', async () => {
    const sent = await sentByWriter();
    let checked = 0;
    for (const { query, params } of sent) {
      const unwind = /UNWIND \$(\w+) AS (\w+)/.exec(query);
      if (unwind === null) continue;
      const items = params[unwind[1]] as Record<string, unknown>[];
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(fieldsRead(query, unwind[2]));
        if ('version' in item) expect(neo4j.isInt(item.version)).toBe(true);
      }
      checked += 1;
    }
    expect(checked).toBe(3);
    const upsert = sent.find((s) => s.query === UPSERT_MASTERY)!;
    const first = (upsert.params.rows as Record<string, unknown>[])[0];
    expect(first).toMatchObject({ student_id: 's1', concept_id: 'c1', level: 0.42, mastered: false, updated_at: batch.upserts[0].updated_at });
    expect((first.version as { toNumber(): number }).toNumber()).toBe(7);
  });

  it('removals are sent before upserts, all in one transaction per batch', async () => {
    const sent: SentStatement[] = [];
    let transactions = 0;
    const base = recordingDriver(sent);
    const counting = {
      session: (config: unknown) => {
        const session = (base.session as (c: unknown) => { executeWrite(w: unknown): Promise<unknown>; close(): Promise<void> })(config);
        return { ...session, executeWrite: (w: unknown) => ((transactions += 1), session.executeWrite(w)) };
      },
      close: async () => {},
    } as unknown as Neo4jDriverLike;
    await new Neo4jGraphWriter(counting, { database: 'neo4j', transactionTimeoutMs: 1000 }).write(batch);
    expect(transactions).toBe(1);
    expect(sent.map((s) => s.query).indexOf(UPSERT_MASTERY)).toBe(sent.length - 1);
  });
});
