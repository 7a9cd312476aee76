/**
 * The core's public API is explicit and reviewed: src/bkt/index.ts names each export (no `export *`), each has a doc
 * comment, internals stay out, and the built API equals the committed report etc/bkt-engine.api.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { runApiExtractor } from '../scripts/api-report.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src/bkt/index.ts');

function publicExports(): { name: string; documented: boolean }[] {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    return { name: exported.name, documented: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== '' };
  });
}

it('src/bkt/index.ts names its exports, each with a doc comment, and keeps the internals out', () => {
  expect(readFileSync(entry, 'utf8')).not.toMatch(/export\s+\*/);
  const exports = publicExports();
  expect(exports.length).toBeGreaterThan(40);
  expect(exports.filter((e) => !e.documented).map((e) => e.name), 'exports without a doc comment').toEqual([]);
  const names = new Set(exports.map((e) => e.name));
  for (const internal of ['eStep', 'mStep', 'emptyCounts', 'GrowableArray', 'unitKey', 'planFit', 'runUnit', 'assembleFit']) {
    expect(names.has(internal), `${internal} is internal`).toBe(false);
  }
  for (const used of ['updateMastery', 'traceMastery', 'fitDataset', 'evaluateDataset', 'crossValidate', 'internRows', 'buildResponseData']) {
    expect(names.has(used), `${used} is public`).toBe(true);
  }
});

it('the built public API equals etc/bkt-engine.api.md', () => {
  const result = runApiExtractor(false);
  expect(result.problems).toEqual([]);
  expect(
    result.apiReportChanged,
    'the public API of src/bkt changed: run `npm run api:report` and commit etc/bkt-engine.api.md (this test reads dist/, which `npm test` builds first)',
  ).toBe(false);
  expect(result.succeeded).toBe(true);
});
