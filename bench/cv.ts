/**
 * bench/cv: 5-fold student-level cross-validation of `bkt cv` on assist2009, standard BKT and with a fitted
 * forget parameter. Prints pooled AUC, the mean and sd over folds, per-concept AUC and the fallback's share.
 * Run: npm run build && npx tsx bench/cv.ts [data set file name, default assist2009.csv]
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../dist/cli/main.js');
const file = resolve(here, '../../shared/data', process.argv[2] ?? 'assist2009.csv');

interface CvSummary {
  pooled: { auc: number; rmse: number; accuracy: number; log_lik: number };
  fold_auc: { mean: number; sd: number };
  concept_auc: { row_weighted: number; macro: number };
  fallback: { row_share: number };
  seconds: number;
}

console.log(`bkt cv ${process.argv[2] ?? 'assist2009.csv'} --folds 5 (default fit options, seed 0)`);
console.log('model | pooled AUC | fold AUC mean ± sd | concept AUC row-weighted / macro | RMSE | accuracy | fallback rows | seconds');
for (const [label, extra] of [['standard BKT', []], ['with fitted forget', ['--fit-forget']]] as const) {
  const r = spawnSync(process.execPath, [BIN, 'cv', file, '--folds', '5', '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bkt cv failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout) as CvSummary;
  const f = (x: number) => x.toFixed(4);
  console.log(
    [
      label,
      f(s.pooled.auc),
      `${f(s.fold_auc.mean)} ± ${f(s.fold_auc.sd)}`,
      `${f(s.concept_auc.row_weighted)} / ${f(s.concept_auc.macro)}`,
      f(s.pooled.rmse),
      f(s.pooled.accuracy),
      `${(100 * s.fallback.row_share).toFixed(2)}%`,
      s.seconds.toFixed(1),
    ].join(' | '),
  );
}
