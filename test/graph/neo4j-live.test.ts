/**
 * Against a real Neo4j, only when NEO4J_URI (with NEO4J_USER, NEO4J_PASSWORD, optionally NEO4J_DATABASE) is set.
 * Proves what the other graph tests cannot: Neo4j runs the statements of cypher.ts as intended — constraints are
 * created idempotently, relationships carry the right level, mastered flag, version and datetime, an older version does
 * not overwrite a newer one, the relay drains an outbox into Neo4j exactly, and an erasure removes the student.
 * Every node it creates has an id under a random prefix and is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import neo4j, { type Driver } from 'neo4j-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraphConfig } from '../../src/config.js';
import type { Neo4jConfig } from '../../src/graph/config.js';
import { createNeo4jWriter, type Neo4jGraphWriter } from '../../src/graph/neo4j-writer.js';
import { OutboxRelay } from '../../src/graph/relay.js';
import { MemoryOutbox } from './support/memory-outbox.js';
import { RecordingLogger, eventually, update } from './support/relay-harness.js';

const config = loadGraphConfig(process.env);
if (!config.enabled) {
  console.info(`neo4j-live.test.ts skipped: ${config.reason.split(':')[0]}. No Neo4j server runs on this machine; set NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD to run it.`);
}

describe.skipIf(!config.enabled)('real Neo4j', () => {
  const settings = (config.enabled ? config.neo4j : null) as Neo4jConfig;
  const prefix = `bkt-test-${randomUUID()}-`;
  const id = (name: string): string => prefix + name;
  let driver: Driver;
  let writer: Neo4jGraphWriter;

  async function read(student: string, concept: string) {
    const { records } = await driver.executeQuery(
      'MATCH (:Student {id: $student})-[r:HAS_MASTERY]->(:Concept {id: $concept}) RETURN r.level AS level, r.mastered AS mastered, r.version AS version, r.updated_at AS updated_at',
      { student, concept },
      { database: settings.database },
    );
    if (records.length === 0) return undefined;
    const r = records[0];
    return {
      level: r.get('level') as number,
      mastered: r.get('mastered') as boolean,
      version: (r.get('version') as { toNumber(): number }).toNumber(),
      updated_at: new Date((r.get('updated_at') as { toString(): string }).toString()).toISOString(),
    };
  }

  beforeAll(async () => {
    driver = neo4j.driver(settings.uri, neo4j.auth.basic(settings.user, settings.password));
    writer = createNeo4jWriter(settings);
  });

  afterAll(async () => {
    await driver?.executeQuery('MATCH (n) WHERE (n:Student OR n:Concept) AND n.id STARTS WITH $prefix DETACH DELETE n', { prefix }, { database: settings.database });
    await writer?.close();
    await driver?.close();
  });

  it('creates the uniqueness constraints, and doing it again is harmless', async () => {
    await writer.ensureConstraints();
    await writer.ensureConstraints();
    const { records } = await driver.executeQuery('SHOW CONSTRAINTS YIELD name RETURN name', {}, { database: settings.database });
    const names = records.map((r) => r.get('name') as string);
    expect(names).toEqual(expect.arrayContaining(['bkt_student_id', 'bkt_concept_id']));
  });

  it('writes level, mastered, version and datetime, and never goes back to an older version', async () => {
    const v3 = { ...update(id('s1'), id('c1'), 3), level: 0.97, mastered: true };
    await writer.write({ upserts: [update(id('s1'), id('c1'), 1)], removals: [] });
    await writer.write({ upserts: [v3], removals: [] });
    await writer.write({ upserts: [{ ...update(id('s1'), id('c1'), 2), level: 0.1 }], removals: [] });
    expect(await read(id('s1'), id('c1'))).toEqual({ level: 0.97, mastered: true, version: 3, updated_at: v3.updated_at });
  });

  it('the relay drains an outbox into Neo4j and the relationships equal the source of truth', async () => {
    const outbox = new MemoryOutbox();
    const relay = new OutboxRelay({ outbox, writer, logger: new RecordingLogger(), batchSize: 17 });
    for (let v = 1; v <= 200; v++) outbox.enqueueMastery(update(id(`s${v % 7}`), id(`c${v % 5}`), v));
    relay.start();
    relay.notify();
    await eventually(() => outbox.size === 0, 100_000_000);
    await relay.stop();
    for (const p of outbox.truth.values()) {
      expect(await read(p.student_id, p.concept_id)).toEqual({ level: p.level, mastered: p.mastered, version: p.version, updated_at: p.updated_at });
    }
  });

  it('an erasure removes the student and its relationships written before it, and leaves concepts', async () => {
    await writer.write({ upserts: [update(id('gone'), id('c1'), 10), update(id('gone'), id('c2'), 11)], removals: [] });
    await writer.write({ upserts: [], removals: [{ student_id: id('gone'), version: 12 }] });
    const { records } = await driver.executeQuery(
      'OPTIONAL MATCH (s:Student {id: $student}) OPTIONAL MATCH (c:Concept {id: $concept}) RETURN s IS NULL AS studentGone, c IS NOT NULL AS conceptKept',
      { student: id('gone'), concept: id('c1') },
      { database: settings.database },
    );
    expect(records[0].toObject()).toEqual({ studentGone: true, conceptKept: true });
  });
});
