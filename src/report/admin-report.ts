/**
 * The page of GET /admin/report: the service's stored state drawn like `bkt report` draws a fit — mastery per
 * concept, learning curves from the history, the active parameters and the latest fit job with its flags.
 */
import type { AdminReport, AdminReportConcept } from '../service/report-service.js';
import { masteryBandEdges } from '../service/report-service.js';
import { learningCurvesSpec, masteryHeatmapSpec, parameterStripSpec, type MasteryCell, type ParameterPoint } from './charts.js';
import { type Column, escapeHtml, facts, htmlPage, int, num, sortableTable } from './html.js';
import { renderSvg } from './svg.js';

const PARAMETERS = ['prior', 'learn', 'guess', 'slip', 'forget'] as const;

function standsOut(c: AdminReportConcept): boolean {
  return c.verdict.falls === false || c.verdict.misses === true;
}

/** The whole page. */
export async function renderAdminReport(r: AdminReport): Promise<string> {
  const withCurves = r.concepts.filter((c) => c.curve.length > 0).sort((a, b) => Number(standsOut(b)) - Number(standsOut(a)));
  const withMastery = r.concepts.filter((c) => c.mastery.some((n) => n > 0));
  const withParams = r.concepts.filter((c) => c.params !== null);
  const flaggedJob = new Map((r.latestJob?.results?.concepts ?? []).map((c) => [c.conceptId, c]));
  const [curvesSvg, masterySvg, paramsSvg] = await Promise.all([
    withCurves.length > 0
      ? renderSvg(learningCurvesSpec(withCurves.map((c) => ({ label: `${standsOut(c) ? '⚠ ' : ''}${c.conceptId}`, standsOut: standsOut(c), points: c.curve })), r.options.maxOpportunity, 4))
      : Promise.resolve(null),
    withMastery.length > 0 ? renderSvg(masteryHeatmapSpec(masteryCells(withMastery), withMastery.map((c) => c.conceptId))) : Promise.resolve(null),
    withParams.length > 0 ? renderSvg(parameterStripSpec(parameterPoints(withParams, flaggedJob), PARAMETERS)) : Promise.resolve(null),
  ]);
  const h = r.history;
  const sampling = h.sampled
    ? `<p class="note sampled">The history holds about ${int(h.rows)} rows, more than ${int(r.options.historyBound)}: the learning curves are ` +
      `drawn from a sample of ${(h.share * 100).toFixed(1)}% of students, chosen by a hash of their id (the same students on every load). ` +
      `Mastery and parameters cover every student and concept.</p>`
    : `<p class="note">Learning curves from all ${int(h.rows)} history rows (no sampling below ${int(r.options.historyBound)} rows).</p>`;
  const body = [
    '<header><h1>Mastery service report</h1>',
    `<p class="muted">Generated ${escapeHtml(r.generatedAt)} from the stored data: ${int(r.concepts.length)} concepts.</p>`,
    sampling,
    '<nav><a href="#curves">Learning curves</a><a href="#mastery">Mastery</a><a href="#parameters">Parameters</a><a href="#job">Latest fit job</a></nav></header>',
    '<main>',
    `<section id="curves"><h2>Learning curves</h2>${curvesSvg === null ? '<p class="muted">No history yet.</p>' : `<figure>${curvesSvg}<figcaption>Per concept: observed error rate at each opportunity (the seq of a student's answer on the concept) with its Wilson 95% interval, the service's own prediction before each answer (dashed), and grey bars for the students reaching that opportunity as a share of those at opportunity 1; opportunities 1–${r.options.maxOpportunity}, points with at least ${r.options.minStudents} students. Curves that do not fall or that the prediction misses are marked ⚠ and shown first.</figcaption></figure>`}</section>`,
    `<section id="mastery"><h2>Mastery per concept</h2>${masterySvg === null ? '<p class="muted">No student has a mastery state yet.</p>' : `<figure>${masterySvg}<figcaption>Share of each concept's students by current P(known), in bands of 0.1.</figcaption></figure>`}</section>`,
    `<section id="parameters"><h2>Active parameters</h2>${paramsSvg === null ? '<p class="muted">No parameters stored: every concept uses the defaults.</p>' : `<figure>${paramsSvg}<figcaption>One tick per concept; red where the latest fit job flagged the concept.</figcaption></figure>`}\n${conceptTable(r.concepts, flaggedJob)}</section>`,
    `<section id="job"><h2>Latest fit job</h2>${jobSection(r)}</section>`,
    '</main>',
  ].join('\n');
  return htmlPage('Mastery service report', body);
}

function masteryCells(concepts: readonly AdminReportConcept[]): MasteryCell[] {
  const edges = masteryBandEdges();
  return concepts.flatMap((c) => {
    const total = c.mastery.reduce((a, b) => a + b, 0);
    return c.mastery.map((students, b) => ({ concept: c.conceptId, lower: edges[b].lower, upper: edges[b].upper, students, share: total === 0 ? 0 : students / total }));
  });
}

type JobConcept = NonNullable<NonNullable<AdminReport['latestJob']>['results']>['concepts'][number];

function jobFlags(j: JobConcept | undefined): string[] {
  return j?.flags ? Object.entries(j.flags).filter(([, v]) => v).map(([k]) => k) : [];
}

function parameterPoints(concepts: readonly AdminReportConcept[], job: Map<string, JobConcept>): ParameterPoint[] {
  return concepts.flatMap((c) =>
    PARAMETERS.map((parameter) => ({ concept: c.conceptId, parameter, value: c.params![parameter], status: jobFlags(job.get(c.conceptId)).length > 0 ? 'flagged' : 'fitted' }) as const),
  );
}

function conceptTable(concepts: readonly AdminReportConcept[], job: Map<string, JobConcept>): string {
  const students = (c: AdminReportConcept) => c.mastery.reduce((a, b) => a + b, 0);
  const columns: Column<AdminReportConcept>[] = [
    { label: 'concept', type: 'text', html: (c) => escapeHtml(c.conceptId), sort: (c) => c.conceptId },
    ...PARAMETERS.map((p): Column<AdminReportConcept> => ({ label: p, type: 'number', html: (c) => num(c.params?.[p]), sort: (c) => c.params?.[p] ?? null })),
    { label: 'version', type: 'number', html: (c) => (c.version === null ? 'defaults' : String(c.version)), sort: (c) => c.version },
    { label: 'fitted at', type: 'text', html: (c) => escapeHtml(c.fittedAt ?? '–'), sort: (c) => c.fittedAt ?? '' },
    { label: 'students', type: 'number', html: (c) => int(students(c)), sort: students },
    { label: 'curve gap', type: 'number', html: (c) => num(c.verdict.gap), sort: (c) => c.verdict.gap },
    { label: 'job flags', type: 'text', html: (c) => escapeHtml(jobFlags(job.get(c.conceptId)).join(', ')), sort: (c) => jobFlags(job.get(c.conceptId)).join(',') },
    {
      label: 'reasons',
      type: 'text',
      className: 'reasons',
      html: (c) => [...(job.get(c.conceptId)?.reasons ?? []), ...c.verdict.reasons].map(escapeHtml).join('<br>'),
      sort: (c) => [...(job.get(c.conceptId)?.reasons ?? []), ...c.verdict.reasons].join(' '),
    },
  ];
  return sortableTable(columns, concepts, (c) => (standsOut(c) || jobFlags(job.get(c.conceptId)).length > 0 ? 'flagged' : ''));
}

function jobSection(r: AdminReport): string {
  const j = r.latestJob;
  if (j === null) return '<p class="muted">No fit job has run.</p>';
  const o = j.options;
  const results = j.results;
  const rows = (results?.concepts ?? [])
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.conceptId)}</td><td class="text">${escapeHtml(c.outcome)}</td><td>${int(c.responses)}</td><td>${int(c.students)}</td>` +
        `<td>${num(c.logLik, 1)}</td><td class="text">${escapeHtml(jobFlags(c).join(', '))}</td><td class="reasons">${c.reasons.map(escapeHtml).join('<br>')}</td></tr>`,
    )
    .join('\n');
  return [
    facts([
      ['job', j.id],
      ['status', j.status],
      ['created', j.createdAt],
      ['finished', j.finishedAt ?? '–'],
      ['options', JSON.stringify({ restarts: o.restarts, seed: o.seed, max_iterations: o.maxIterations, tol: o.tol, bounds: o.bounds, fix: o.fix, forget: o.forget, min_responses: o.minResponses, apply_degenerate: o.applyDegenerate, replay: o.replay })],
      ['error', j.error ?? '–'],
    ]),
    results === null
      ? ''
      : `<div class="table-wrap"><table><thead><tr><th>concept</th><th class="text">outcome</th><th>responses</th><th>students</th><th>log-lik</th>` +
        `<th class="text">flags</th><th class="text">reasons</th></tr></thead><tbody>\n${rows}\n</tbody></table></div>`,
  ].join('\n');
}
