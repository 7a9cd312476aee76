/**
 * Functions, methods and arrow functions in src/ longer than a limit (80 lines by default), found with the
 * TypeScript compiler's parser. Long bodies are split into named steps unless they are hot loops, which stay whole
 * so that the compiler sees one loop; test/long-functions.test.ts keeps the list of those and fails on any other.
 * `npx tsx scripts/long-functions.ts [limit]` prints every function over the limit, longest first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One function over the limit: where it starts, its name as written (or where it is passed), its length. */
export interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = (node as { name?: ts.Node }).name;
  if (named) return named.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  if (ts.isCallExpression(parent)) return `(argument of ${parent.expression.getText(source).slice(0, 40)})`;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

/** The functions of one TypeScript text longer than `limit` lines; `file` only labels them. */
export function longFunctionsIn(file: string, text: string, limit: number): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = last - first + 1;
      if (lines > limit) found.push({ file, line: first + 1, name: nameOf(node, source), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every function over `limit` lines in the non-test TypeScript files under `dir`, longest first. */
export function longFunctions(root: string, dir = 'src', limit = 80): LongFunction[] {
  const files = readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
    .map((name) => join(root, dir, name))
    .sort();
  return files
    .flatMap((path) => longFunctionsIn(relative(root, path).split('\\').join('/'), readFileSync(path, 'utf8'), limit))
    .sort((a, b) => b.lines - a.lines);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const limit = Number(process.argv[2] ?? 80);
  for (const f of longFunctions(root, 'src', limit)) console.log(`${f.lines}\t${f.file}:${f.line}\t${f.name}`);
}
