/** Scratch databases on the PostgreSQL 15 server (127.0.0.1:5432): one per test file and run, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const SERVER_URL = process.env.BKT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates a uniquely named database (prefix + random suffix) and returns its URL and a drop function. */
export async function createScratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = `bkt_${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(SERVER_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
