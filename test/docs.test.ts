/**
 * The docs check: README.md, docs/ and bench/ speak to users (no narrative of sessions, VMs, "this machine", runs by
 * number or scratch scripts) and every relative link in them resolves. The rule itself is tested on both sides.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDocs, findBrokenLinks, findNarrative } from '../scripts/docs-check.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('the narrative rule', () => {
  it.each([
    'Measured on a 2-core x86 VM, Node 20, PostgreSQL 15: 1,500 updates/s (`npm run bench:http-update`).',
    'Figures: 4-vCPU arm64 VM, Node 22 (`npm run bench:fit`).',
    'The `session_id` field names the practice session of the answer.',
    'Run `bkt fit` with `--runs 3` to repeat it; `bkt cv` runs 5 folds.',
    'The relay runs 2 workers.',
  ])('passes %s', (text) => {
    expect(findNarrative('x.md', text)).toEqual([]);
  });

  it.each([
    ['on this VM the tail is longer', 'VM'],
    ['the VM of the outbox-cost figures', 'VM'],
    ['figures from two sessions', 'sessions'],
    ['this session measured it', 'session'],
    ['on this 2-core x86 VM, Node 20, the figure', 'VM'],
    ['VMs of this class vary by 3x', 'VMs'],
    ['it is this machine', 'this machine'],
    ['twice as slow on this 2-vCPU machine', 'this 2-vCPU machine'],
    ['Run 3 (after the fix)', 'Run 3'],
    ['as in run #2', 'run #2'],
    ['measured with a scratch script, not kept', 'scratch script'],
  ])('fails %s', (text, word) => {
    const findings = findNarrative('x.md', `intro line\n${text}\n`);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings[0]!.line).toBe(2);
    expect(findings[0]!.problem).toContain(word);
  });
});

describe('the link rule', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bkt-docs-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  mkdirSync(join(scratch, 'docs'));
  writeFileSync(join(scratch, 'docs', 'here.md'), '# here\n');

  it('accepts existing files, anchors and absolute URLs, and names each missing target with its line', () => {
    const text = [
      '[ok](here.md) [anchor](here.md#top) [self](#x) [web](https://example.org/a.md)',
      '- [up](../docs/here.md)',
      '| a | [missing in a table](gone.md) |',
      '|---|---|',
      '| b | c |',
      '',
      'See [missing](../nowhere/file.md#part).',
    ].join('\n');
    const findings = findBrokenLinks(scratch, join(scratch, 'docs', 'page.md'), text);
    expect(findings.map((f) => [f.line, f.problem])).toEqual([
      [3, 'link to gone.md: no such file'],
      [7, 'link to ../nowhere/file.md#part: no such file'],
    ]);
  });
});

it('README.md, docs/ and bench/ have no narrative words and no broken relative links', () => {
  const findings = checkDocs(root).map((f) => `${f.file}:${f.line}: ${f.problem}`);
  expect(findings, `run \`npm run docs:check\` to list them:\n${findings.join('\n')}`).toEqual([]);
});
