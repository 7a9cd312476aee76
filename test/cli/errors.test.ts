/**
 * Bad input through the real bin: each case exits non-zero with `file:line: problem` on stderr, no stack trace,
 * and leaves no output behind: the target is not created (or keeps its old content) and no temporary file remains.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bkt, listDir, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);
let goodParams = '';

beforeAll(() => {
  const files: Record<string, string> = {
    'missing-column.csv': 'student_id,skill,correct\nu1,a,1\n',
    'bad-correct.csv': 'student_id,concept_id,correct\nu1,a,1\nu1,a,0\nu1,a,2\n',
    'bad-correct-word.csv': 'student_id,concept_id,correct\nu1,a,yes\n',
    'empty.csv': '',
    'blank.csv': '\n\n',
    'header-only.csv': 'student_id,concept_id,correct\n',
    'non-contiguous.csv': 'student_id,concept_id,correct\nu1,a,1\nu2,a,1\nu2,b,0\nu1,b,1\n',
    'short-row.csv': 'student_id,concept_id,correct\nu1,a,1\nu1,a\n',
    'bad-order.csv': 'student_id,concept_id,correct,t\nu1,a,1,1\nu1,a,1,soon\n',
    'has-prediction.csv': 'student_id,concept_id,correct,p_correct\nu1,a,1,0.5\n',
    'good.csv': 'student_id,concept_id,correct\nu1,a,1\nu1,a,0\nu2,a,1\n',
    'v3.json': '{\n  "schema_version": 3,\n  "concepts": []\n}\n',
    'no-version.json': '{\n  "concepts": []\n}\n',
    'broken.json': '{\n  "schema_version": 1,\n  "concepts": [\n',
    'bad-param.json':
      '{"schema_version": 1, "options": {"threshold": 0.95}, "fallback": {"source": "defaults", "params": ' +
      '{"prior": 0.1, "learn": 0.2, "guess": 0.25, "slip": 0.1, "forget": 0}}, "concepts": [{"concept_id": "a", ' +
      '"use": "fitted", "params": {"prior": 0.1, "learn": 0.2, "guess": 1.5, "slip": 0.1, "forget": 0}}]}\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(at(name), text);
  writeFileSync(at('truncated.csv.gz'), gzipSync('student_id,concept_id,correct\nu1,a,1\n'.repeat(50)).subarray(0, 40));
  goodParams = at('good.json');
  const r = bkt(['fit', dataPath('ct_pybkt.csv'), '-o', goodParams, '--restarts', '1', '--threads', '1']);
  if (r.status !== 0) throw new Error(r.stderr);
});

interface Case {
  name: string;
  args: () => string[];
  status: number;
  message: RegExp;
}

const cases: Case[] = [
  { name: 'missing column', args: () => ['predict', at('missing-column.csv')], status: 1, message: /missing-column\.csv:1: missing column "concept_id" \(the header has: student_id, skill, correct\)/ },
  { name: 'correct not 0/1/true/false', args: () => ['predict', at('bad-correct.csv')], status: 1, message: /bad-correct\.csv:4: correct must be 0, 1, true or false, found "2"/ },
  { name: 'correct as a word', args: () => ['fit', at('bad-correct-word.csv')], status: 1, message: /bad-correct-word\.csv:2: correct must be 0, 1, true or false, found "yes"/ },
  { name: 'empty file', args: () => ['predict', at('empty.csv')], status: 1, message: /empty\.csv:1: empty file/ },
  { name: 'blank file', args: () => ['evaluate', at('blank.csv'), '--params', goodParams], status: 1, message: /blank\.csv:1: empty file/ },
  { name: 'header only', args: () => ['cv', at('header-only.csv')], status: 1, message: /header-only\.csv:2: no data rows/ },
  { name: 'non-contiguous student', args: () => ['fit', at('non-contiguous.csv')], status: 1, message: /non-contiguous\.csv:5: rows of student "u1" are not contiguous \(the student's earlier rows end at line 2\).*--order-col/ },
  { name: 'row with too few fields', args: () => ['predict', at('short-row.csv')], status: 1, message: /short-row\.csv:3: expected 3 fields as in the header, found 2/ },
  { name: 'order column not a number', args: () => ['predict', at('bad-order.csv'), '--order-col', 't'], status: 1, message: /bad-order\.csv:3: t must be a number, found "soon"/ },
  { name: 'input already holds an output column', args: () => ['predict', at('has-prediction.csv')], status: 1, message: /has-prediction\.csv:1: the input already has a column "p_correct"/ },
  { name: 'truncated gzip file', args: () => ['predict', at('truncated.csv.gz')], status: 1, message: /truncated\.csv\.gz: not a valid gzip file \(unexpected end of file\)/ },
  { name: 'data file missing', args: () => ['predict', at('nope.csv')], status: 1, message: /nope\.csv: no such file or directory/ },
  { name: 'params file missing', args: () => ['predict', at('good.csv'), '--params', at('nope.json')], status: 1, message: /nope\.json: no such file or directory/ },
  { name: 'params file not JSON', args: () => ['evaluate', at('good.csv'), '--params', at('broken.json')], status: 1, message: /broken\.json:\d+: not valid JSON/ },
  { name: 'params file of another schema version', args: () => ['predict', at('good.csv'), '--params', at('v3.json')], status: 1, message: /v3\.json:2: schema_version 3 is not supported \(this bkt reads versions 1 and 2\)/ },
  { name: 'params file without a version', args: () => ['predict', at('good.csv'), '--params', at('no-version.json')], status: 1, message: /no-version\.json:1: no schema_version/ },
  { name: 'params file with a bad parameter', args: () => ['predict', at('good.csv'), '--params', at('bad-param.json')], status: 1, message: /bad-param\.json:1: concepts\[0\]\.params: guess must be strictly between 0 and 1, got 1\.5/ },
  { name: 'params file is a directory', args: () => ['predict', at('good.csv'), '--params', tmp.dir], status: 1, message: /is a directory/ },
  { name: 'bad option value', args: () => ['fit', at('good.csv'), '--restarts', '0'], status: 2, message: /--restarts <n>' argument '0' is invalid/ },
  { name: 'fixed parameter out of range (checked by the core)', args: () => ['fit', at('good.csv'), '--fix', 'guess=1'], status: 2, message: /fixed\.guess must be strictly between 0 and 1/ },
  { name: 'unknown option', args: () => ['predict', at('good.csv'), '--bogus'], status: 2, message: /unknown option '--bogus'/ },
];

describe.each(cases)('$name', ({ args, status, message }) => {
  it(`exits ${status} with the file, line and problem, and writes nothing`, () => {
    const target = at(`out-${Math.random().toString(36).slice(2)}.csv`);
    const before = listDir(tmp.dir);
    const a = args();
    const r = bkt(['fit', 'predict'].includes(a[0]) ? [...a, '-o', target] : a);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
    expect(existsSync(target)).toBe(false);
    expect(listDir(tmp.dir)).toEqual(before); // no temporary file left
  });
});

it.each(['fit', 'predict'])('bkt %s names an output it cannot write, before doing any work', (command) => {
  const target = at('no-such-dir/out.json');
  const r = bkt([command, dataPath('assist2015.csv'), '-o', target]);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`bkt: ${target}: cannot write here: no such file or directory\n`);
});

it('keeps an existing output file unchanged when a later run fails', () => {
  const target = at('kept.csv');
  writeFileSync(target, 'old content\n');
  const r = bkt(['predict', at('has-prediction.csv'), '-o', target]);
  expect(r.status).toBe(1);
  expect(readFileSync(target, 'utf8')).toBe('old content\n');
  const ok = bkt(['predict', at('good.csv'), '-o', target]);
  expect(ok.status, ok.stderr).toBe(0);
  expect(readFileSync(target, 'utf8').split('\n')[0]).toBe('student_id,concept_id,correct,p_correct,p_mastery_before,p_posterior,p_mastery_after,mastered,opportunity,params_source');
});

describe('--help', () => {
  it.each(['fit', 'predict', 'evaluate', 'cv'])('bkt %s --help gives a default for every option', (command) => {
    const r = bkt([command, '--help']);
    expect(r.status).toBe(0);
    // Option entries start with two spaces and a dash; wrapped lines are joined before checking.
    const options = r.stdout.split('Options:')[1].split(/\n(?= {2}-)/).map((s) => s.replace(/\s+/g, ' ').trim()).filter(Boolean);
    expect(options.length).toBeGreaterThan(3);
    for (const entry of options) {
      if (/^(-h, )?--help|^-o, --output|^--params <file> params file from `bkt fit`$/.test(entry)) continue;
      expect(entry, `${command}: ${entry}`).toMatch(/\((.*, )?default: [^)]+\)/);
    }
  });
});
