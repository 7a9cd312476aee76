/**
 * The page of `bkt report`: what a fit shows on its data. Takes a model assembled by the CLI (curves and verdicts
 * from the core, the params file's fields, cross-validation figures) and writes one self-contained HTML page.
 */
import { type BktParams, type CalibrationBin, type CurvePoint, type CurveVerdict, fiveNumbers, type PerValueParams, type UnseenValues } from '../bkt/index.js';
import { calibrationSpec, learningCurvesSpec, parameterStripSpec, perValueSpec, type ParameterPoint } from './charts.js';
import { perValueColumns, perValuePanels, perValueSection } from './per-value.js';
import { anchorId, type Column, escapeHtml, facts, htmlPage, int, num, sortableTable } from './html.js';
import { renderInThread, type Renderer } from './render-pool.js';

export const PARAMETERS = ['prior', 'learn', 'guess', 'slip', 'forget'] as const;

export interface ReportConcept {
  readonly conceptId: string;
  /** 'fitted': own parameters; 'fallback': the params file says to predict with its fallback; 'absent': not in it. */
  readonly use: 'fitted' | 'fallback' | 'absent';
  /** The concept's own fitted parameters (absent: the fallback's). */
  readonly params: BktParams;
  /** Flags set in the params file (names), and the file's reasons. */
  readonly flags: readonly string[];
  readonly reasons: readonly string[];
  readonly responses: number;
  readonly students: number;
  /** Log-likelihood and AUC of the parameters as used, on the report's data. */
  readonly logLik: number;
  readonly auc: number | null;
  readonly opportunitiesToMastery: number | null;
  readonly curve: readonly CurvePoint[];
  readonly verdict: CurveVerdict;
  /** Per-value parameters (schema_version 2 `per_value`) of a concept with its own fit; null when it has none. */
  readonly perValue: PerValueParams | null;
}

export interface CvSummary {
  readonly file: string;
  readonly folds: number;
  readonly seed: number;
  readonly inputSha256: string | null;
  readonly pooled: { readonly responses: number; readonly logLik: number; readonly rmse: number; readonly accuracy: number; readonly auc: number | null };
  readonly foldAuc: { readonly mean: number | null; readonly sd: number | null };
  readonly perFold: readonly {
    readonly fold: number;
    readonly trainStudents: number;
    readonly testStudents: number;
    readonly responses: number;
    readonly logLik: number;
    readonly rmse: number;
    readonly accuracy: number;
    readonly auc: number | null;
  }[];
  /** Null when the cv file predates calibration output. */
  readonly calibration: readonly CalibrationBin[] | null;
}

export interface FitReport {
  readonly generator: string;
  readonly data: { readonly file: string; readonly sha256: string; readonly rows: number; readonly students: number; readonly concepts: number };
  readonly params: {
    readonly file: string;
    readonly generator: string;
    readonly schemaVersion: number;
    readonly fitInput: { readonly file: string; readonly sha256: string };
    readonly options: Readonly<Record<string, unknown>>;
    readonly fallback: { readonly source: string; readonly params: BktParams };
  };
  readonly maxOpportunity: number;
  readonly minStudents: number;
  /** In display order (curves that stand out first). */
  readonly concepts: readonly ReportConcept[];
  readonly cv: CvSummary | null;
  /** With variants: rows (for prior, sequences) whose value was not seen in training and took the concept's own. */
  readonly unseen: UnseenValues;
}

/** Why a concept's curve or fit stands out, for marks and the table. */
export function standsOut(c: ReportConcept): boolean {
  return c.verdict.falls === false || c.verdict.misses === true;
}

function status(c: ReportConcept): ParameterPoint['status'] {
  if (c.use !== 'fitted') return 'fallback';
  return c.flags.length > 0 ? 'flagged' : 'fitted';
}

/** The whole page; `render` draws the charts (default: on this thread). */
export async function renderFitReport(r: FitReport, render: Renderer = renderInThread): Promise<string> {
  const withCurves = r.concepts.filter((c) => c.curve.length > 0);
  const panels = withCurves.map((c) => ({ label: `${standsOut(c) ? '⚠ ' : ''}${c.conceptId}`, standsOut: standsOut(c), points: c.curve }));
  const withPerValue = r.concepts.filter((c) => c.perValue !== null);
  const valuePanels = perValuePanels(withPerValue);
  const specs = [
    panels.length > 0 ? learningCurvesSpec(panels, r.maxOpportunity) : null,
    r.concepts.length > 0 ? parameterStripSpec(parameterPoints(r.concepts), PARAMETERS) : null,
    valuePanels.length > 0 ? perValueSpec(valuePanels, perValueColumns(withPerValue)) : null,
    r.cv?.calibration && r.cv.calibration.length > 0 ? calibrationSpec(r.cv.calibration) : null,
  ];
  const svgs = await render(specs.filter((s) => s !== null));
  let k = 0;
  const [curvesSvg, paramsSvg, perValueSvg, calibrationSvg] = specs.map((s) => (s === null ? null : svgs[k++]));
  const out = r.concepts.filter(standsOut);
  const flagged = r.concepts.filter((c) => c.flags.length > 0);
  const fallback = r.concepts.filter((c) => c.use !== 'fitted');
  const body = [
    `<header><h1>BKT fit report: ${escapeHtml(r.data.file)}</h1>`,
    `<p class="muted">${int(r.data.rows)} responses, ${int(r.data.students)} students, ${int(r.data.concepts)} concepts; ` +
      `parameters from ${escapeHtml(r.params.file)}. Written by ${escapeHtml(r.generator)}.</p>`,
    checksumNote(r),
    `<nav><a href="#curves">Learning curves</a><a href="#parameters">Parameters</a><a href="#concepts">Concepts</a>` +
      `${withPerValue.length > 0 ? '<a href="#per-value">Per-value parameters</a>' : ''}${r.cv ? '<a href="#cv">Cross-validation</a>' : ''}` +
      `<a href="#fit">The fit</a></nav></header>`,
    '<main>',
    section('curves', 'Learning curves', curvesSection(r, withCurves, curvesSvg, out.length)),
    section('parameters', 'Parameters across concepts', parametersSection(r, paramsSvg, flagged.length, fallback.length)),
    section('concepts', 'Every concept', conceptTable(r.concepts)),
    withPerValue.length > 0 ? section('per-value', 'Per-value parameters', perValueSection(withPerValue, figure(perValueSvg, PER_VALUE_CAPTION), r.unseen)) : '',
    r.cv ? section('cv', 'Cross-validation', cvSection(r.cv, calibrationSvg)) : '',
    section('fit', 'The fit', fitSection(r)),
    '</main>',
  ].join('\n');
  return htmlPage(`BKT report: ${r.data.file}`, body);
}

function section(id: string, title: string, html: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${html}\n</section>`;
}

function checksumNote(r: FitReport): string {
  if (r.params.fitInput.sha256 === r.data.sha256) {
    return `<p class="note">The parameters were fitted on this very file (sha256 ${escapeHtml(r.data.sha256)}).</p>`;
  }
  return (
    `<p class="note sampled"><span class="warn">The parameters were fitted on other data</span>: ${escapeHtml(r.params.fitInput.file)} ` +
    `(sha256 ${escapeHtml(r.params.fitInput.sha256)}), while this page shows ${escapeHtml(r.data.file)} (sha256 ${escapeHtml(r.data.sha256)}).</p>`
  );
}

const PER_VALUE_CAPTION =
  'One row of panels per concept, one panel per variant fitted. Each dot is one value\'s estimate at its rank: guess and ' +
  'slip by item difficulty (hardest first), learn and forget by learn, prior by prior (highest first). The dashed lines ' +
  'are the concept\'s own values, used for values not seen in training.';

function figure(svg: string | null, caption: string): string {
  return svg === null ? `<p class="muted">Nothing to draw.</p>` : `<figure>${svg}<figcaption>${caption}</figcaption></figure>`;
}

function curvesSection(r: FitReport, concepts: readonly ReportConcept[], svg: string | null, nOut: number): string {
  const list = concepts
    .filter(standsOut)
    .map((c) => `<li><a href="#${anchorId('concept', c.conceptId)}">${escapeHtml(c.conceptId)}</a>: ${c.verdict.reasons.map(escapeHtml).join('; ')}</li>`)
    .join('');
  const numbers = concepts
    .flatMap((c) =>
      c.curve.map(
        (p) =>
          `<tr><td>${escapeHtml(c.conceptId)}</td><td>${p.opportunity}</td><td>${int(p.students)}</td><td>${num(p.errorRate)}</td>` +
          `<td>${num(p.low)}–${num(p.high)}</td><td>${num(p.predictedErrorRate)}</td></tr>`,
      ),
    )
    .join('\n');
  return [
    `<p>${nOut === 0 ? 'No curve stands out.' : `<span class="warn">${nOut} of ${concepts.length} curves stand out</span> (marked ⚠, drawn in red, shown first):`}</p>`,
    list ? `<ul>${list}</ul>` : '',
    figure(
      svg,
      `Per concept: observed error rate at each opportunity (a student's k-th response on the concept) with its Wilson 95% interval, ` +
        `the model's mean predicted error rate for the same students (dashed), and grey bars for the students reaching that opportunity as a ` +
        `share of those at opportunity 1. Opportunities 1–${r.maxOpportunity}, points with at least ${r.minStudents} students. A curve stands ` +
        `out when its student-weighted trend does not fall, or when the prediction is off by 0.05 or more on average with at least half ` +
        `of the points outside their interval.`,
    ),
    `<details><summary>The numbers behind the curves</summary><div class="table-wrap"><table><thead><tr><th>concept</th><th>opportunity</th>` +
      `<th>students</th><th>error rate</th><th>95% interval</th><th>predicted</th></tr></thead><tbody>\n${numbers}\n</tbody></table></div></details>`,
  ].join('\n');
}

function parameterPoints(concepts: readonly ReportConcept[]): ParameterPoint[] {
  return concepts.flatMap((c) => PARAMETERS.map((parameter) => ({ concept: c.conceptId, parameter, value: c.params[parameter], status: status(c) })));
}

function parametersSection(r: FitReport, svg: string | null, nFlagged: number, nFallback: number): string {
  const rows = PARAMETERS.map((p) => {
    const s = fiveNumbers(r.concepts.filter((c) => c.use === 'fitted').map((c) => c.params[p]));
    return `<tr><td>${p}</td>${s ? [s.min, s.q1, s.median, s.q3, s.max].map((v) => `<td>${num(v)}</td>`).join('') : '<td colspan="5">–</td>'}</tr>`;
  }).join('');
  return [
    figure(
      svg,
      `One tick per concept and parameter: blue for an own fit with no flag, red for a fit with a flag (${nFlagged}), grey for concepts ` +
        `predicted with the fallback (${nFallback}; their own fitted values are shown). The black tick is the median.`,
    ),
    `<h3>Concepts with their own fit</h3><table><thead><tr><th>parameter</th><th>min</th><th>25%</th><th>median</th><th>75%</th><th>max</th></tr></thead><tbody>${rows}</tbody></table>`,
    `<p>Fallback (${escapeHtml(r.params.fallback.source)}): ${PARAMETERS.map((p) => `${p} ${num(r.params.fallback.params[p])}`).join(', ')}.</p>`,
  ].join('\n');
}

function conceptTable(concepts: readonly ReportConcept[]): string {
  const columns: Column<ReportConcept>[] = [
    { label: 'concept', type: 'text', html: (c) => `<span id="${anchorId('concept', c.conceptId)}">${escapeHtml(c.conceptId)}</span>`, sort: (c) => c.conceptId },
    { label: 'use', type: 'text', html: (c) => escapeHtml(c.use), sort: (c) => c.use },
    ...PARAMETERS.map((p): Column<ReportConcept> => ({ label: p, type: 'number', html: (c) => num(c.params[p]), sort: (c) => c.params[p] })),
    { label: 'responses', type: 'number', html: (c) => int(c.responses), sort: (c) => c.responses },
    { label: 'students', type: 'number', html: (c) => int(c.students), sort: (c) => c.students },
    { label: 'log-lik', type: 'number', html: (c) => num(c.logLik, 1), sort: (c) => c.logLik },
    { label: 'AUC', type: 'number', html: (c) => num(c.auc), sort: (c) => c.auc },
    { label: 'to mastery', type: 'number', html: (c) => (c.opportunitiesToMastery === null ? 'never' : String(c.opportunitiesToMastery)), sort: (c) => c.opportunitiesToMastery },
    { label: 'curve gap', type: 'number', html: (c) => num(c.verdict.gap), sort: (c) => c.verdict.gap },
    { label: 'flags', type: 'text', html: (c) => escapeHtml(c.flags.join(', ')), sort: (c) => c.flags.join(',') },
    {
      label: 'reasons',
      type: 'text',
      className: 'reasons',
      html: (c) => [...c.reasons, ...c.verdict.reasons].map(escapeHtml).join('<br>'),
      sort: (c) => [...c.reasons, ...c.verdict.reasons].join(' '),
    },
  ];
  return (
    '<p>Click a column header to sort. Log-likelihood and AUC are those of the parameters as used (own fit or fallback) on this page\'s ' +
    'data; "to mastery" is the number of correct answers in a row that takes a new student to the mastery threshold (from the params file). ' +
    'Rows marked red on the left have a flag or a curve that stands out.</p>\n' +
    sortableTable(columns, concepts, (c) => (c.flags.length > 0 || standsOut(c) ? 'flagged' : ''))
  );
}

function cvSection(cv: CvSummary, svg: string | null): string {
  const rows = cv.perFold
    .map(
      (f) =>
        `<tr><td>${f.fold + 1}</td><td>${int(f.trainStudents)}</td><td>${int(f.testStudents)}</td><td>${int(f.responses)}</td>` +
        `<td>${num(f.logLik, 1)}</td><td>${num(f.rmse, 4)}</td><td>${num(f.accuracy, 4)}</td><td>${num(f.auc, 4)}</td></tr>`,
    )
    .join('');
  const p = cv.pooled;
  return [
    `<p>${cv.folds}-fold cross-validation by student (seed ${cv.seed}) from ${escapeHtml(cv.file)}: pooled AUC ${num(p.auc, 4)}, ` +
      `RMSE ${num(p.rmse, 4)}, accuracy ${num(p.accuracy, 4)} over ${int(p.responses)} held-out responses; fold AUC mean ` +
      `${num(cv.foldAuc.mean, 4)}, sd ${num(cv.foldAuc.sd, 4)}.</p>`,
    `<table><thead><tr><th>fold</th><th>train students</th><th>test students</th><th>responses</th><th>log-lik</th><th>RMSE</th>` +
      `<th>accuracy</th><th>AUC</th></tr></thead><tbody>${rows}</tbody></table>`,
    cv.calibration === null
      ? '<p class="muted">This cv file has no calibration bins (written by an older bkt); run <code>bkt cv --json</code> again to get them.</p>'
      : figure(
          svg,
          'Calibration: held-out rows split at the deciles of their predicted P(correct); each dot is a bin\'s mean prediction against its ' +
            'observed correct rate, with the Wilson 95% interval. On the dashed diagonal the model is calibrated.',
        ),
  ].join('\n');
}

function fitSection(r: FitReport): string {
  const options = Object.entries(r.params.options).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as const);
  return [
    facts([
      ['params file', r.params.file],
      ['written by', r.params.generator],
      ['schema version', r.params.schemaVersion],
      ['fitted on', r.params.fitInput.file],
      ['fitted input sha256', r.params.fitInput.sha256],
      ['this page\'s data', r.data.file],
      ['this page\'s data sha256', r.data.sha256],
      ['max opportunity shown', r.maxOpportunity],
      ['min students per point', r.minStudents],
    ]),
    '<h3>Fit options</h3>',
    facts(options),
  ].join('\n');
}
