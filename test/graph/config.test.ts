/**
 * Proves: the NEO4J_* settings are parsed by loadConfig with every other setting, its errors (ConfigError) name the
 * variable at fault in the same `NAME: message` shape, and the password is never echoed.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadGraphConfig } from '../../src/config.js';
import { describeNeo4jConfig } from '../../src/graph/config.js';
import { BIN } from '../support/bin.js';

const full = { NEO4J_URI: 'neo4j+s://graph.example.org', NEO4J_USER: 'bkt', NEO4J_PASSWORD: 's3cret', NEO4J_DATABASE: 'mastery' };

function errorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the NEO4J_* settings', () => {
  it('are off, with a reason, when NEO4J_URI is not set', () => {
    const config = loadConfig({}).graph;
    expect(config.enabled).toBe(false);
    if (!config.enabled) expect(config.reason).toMatch(/NEO4J_URI is not set/);
    expect(loadConfig({ NEO4J_URI: '  ' }).graph.enabled).toBe(false);
  });

  it('are read into a frozen object; the database defaults to neo4j', () => {
    const config = loadConfig(full).graph;
    expect(config).toMatchObject({ enabled: true, neo4j: { uri: full.NEO4J_URI, user: 'bkt', password: 's3cret', database: 'mastery' } });
    expect(Object.isFrozen(config)).toBe(true);
    const defaulted = loadConfig({ ...full, NEO4J_DATABASE: undefined }).graph;
    expect(defaulted.enabled && defaulted.neo4j.database).toBe('neo4j');
    expect(loadGraphConfig(full)).toEqual(config);
  });

  it.each([
    [{ ...full, NEO4J_URI: 'http://graph.example.org' }, 'NEO4J_URI', /scheme "http"/],
    [{ ...full, NEO4J_URI: 'not a url' }, 'NEO4J_URI', /not a URL/],
    [{ ...full, NEO4J_URI: 'bolt://u:p@graph.example.org' }, 'NEO4J_URI', /credentials/],
    [{ ...full, NEO4J_USER: '' }, 'NEO4J_USER', /required/],
    [{ ...full, NEO4J_PASSWORD: undefined }, 'NEO4J_PASSWORD', /required/],
    [{ ...full, NEO4J_DATABASE: 'no spaces' }, 'NEO4J_DATABASE', /valid database name/],
    [{ NEO4J_USER: 'bkt' }, 'NEO4J_URI', /NEO4J_USER is/],
  ])('reject %j naming %s', (env, setting, message) => {
    for (const error of [errorOf(() => loadConfig(env)), errorOf(() => loadGraphConfig(env))]) {
      expect(error.setting).toBe(setting);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(`${setting}: `)).toBe(true);
      expect(error.message).not.toContain('s3cret');
    }
  });

  it('stop `bkt serve` before it opens anything, with the one line every bad setting gets', () => {
    const env = { PATH: process.env.PATH, BKT_DATA_DIR: 'memory://', ...full, NEO4J_URI: 'http://graph.example.org' };
    const run = spawnSync(process.execPath, [BIN, 'serve'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^bkt serve: NEO4J_URI: scheme "http" is not one of /);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('are described for logs without the password', () => {
    const config = loadConfig(full).graph;
    if (!config.enabled) throw new Error('expected enabled');
    expect(describeNeo4jConfig(config.neo4j)).toBe('neo4j+s://graph.example.org database=mastery user=bkt');
  });
});
