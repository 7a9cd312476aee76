/** Writes the generated docs: `tsx scripts/gen-docs.ts [docs/cli.md|docs/configuration.md ...]` (all when none given). */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_DOCS } from './generated-docs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !GENERATED_DOCS.some((d) => d.path === w));
if (unknown.length > 0) {
  console.error(`gen-docs: not a generated doc: ${unknown.join(', ')} (known: ${GENERATED_DOCS.map((d) => d.path).join(', ')})`);
  process.exit(2);
}
for (const doc of GENERATED_DOCS) {
  if (wanted.length > 0 && !wanted.includes(doc.path)) continue;
  writeFileSync(join(root, doc.path), doc.render());
  console.log(`wrote ${doc.path}`);
}
