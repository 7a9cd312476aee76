/** Proves: the Neo4j settings are validated once, errors name the variable at fault, and the password is never echoed. */
import { describe, expect, it } from 'vitest';
import { GraphConfigError, describeNeo4jConfig, loadGraphConfig } from '../../src/graph/config.js';

const full = { NEO4J_URI: 'neo4j+s://graph.example.org', NEO4J_USER: 'bkt', NEO4J_PASSWORD: 's3cret', NEO4J_DATABASE: 'mastery' };

function errorOf(env: Record<string, string | undefined>): GraphConfigError {
  try {
    loadGraphConfig(env);
  } catch (error) {
    if (error instanceof GraphConfigError) return error;
    throw error;
  }
  throw new Error('expected a GraphConfigError');
}

describe('loadGraphConfig', () => {
  it('is off, with a reason, when NEO4J_URI is not set', () => {
    const config = loadGraphConfig({});
    expect(config.enabled).toBe(false);
    if (!config.enabled) expect(config.reason).toMatch(/NEO4J_URI is not set/);
    expect(loadGraphConfig({ NEO4J_URI: '  ' }).enabled).toBe(false);
  });

  it('reads all four settings into a frozen object; the database defaults to neo4j', () => {
    const config = loadGraphConfig(full);
    expect(config).toMatchObject({ enabled: true, neo4j: { uri: full.NEO4J_URI, user: 'bkt', password: 's3cret', database: 'mastery' } });
    expect(Object.isFrozen(config)).toBe(true);
    const defaulted = loadGraphConfig({ ...full, NEO4J_DATABASE: undefined });
    expect(defaulted.enabled && defaulted.neo4j.database).toBe('neo4j');
  });

  it.each([
    [{ ...full, NEO4J_URI: 'http://graph.example.org' }, 'NEO4J_URI', /scheme "http"/],
    [{ ...full, NEO4J_URI: 'not a url' }, 'NEO4J_URI', /not a URL/],
    [{ ...full, NEO4J_URI: 'bolt://u:p@graph.example.org' }, 'NEO4J_URI', /credentials/],
    [{ ...full, NEO4J_USER: '' }, 'NEO4J_USER', /required/],
    [{ ...full, NEO4J_PASSWORD: undefined }, 'NEO4J_PASSWORD', /required/],
    [{ ...full, NEO4J_DATABASE: 'no spaces' }, 'NEO4J_DATABASE', /valid database name/],
    [{ NEO4J_USER: 'bkt' }, 'NEO4J_URI', /NEO4J_USER is/],
  ])('rejects %j naming %s', (env, field, message) => {
    const error = errorOf(env);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).not.toContain('s3cret');
  });

  it('describes the settings for logs without the password', () => {
    const config = loadGraphConfig(full);
    if (!config.enabled) throw new Error('expected enabled');
    expect(describeNeo4jConfig(config.neo4j)).toBe('neo4j+s://graph.example.org database=mastery user=bkt');
  });
});
