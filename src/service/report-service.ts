/**
 * The admin report's use case: what GET /admin/report draws, from stored data. Learning curves come from
 * mastery_history aggregated by (concept, opportunity) in the database; beyond a row bound, only a stable sample of
 * students (by a hash of their id) is read, so the page stays fast on a large history and says it is sampled.
 */
import {
  assessCurve, type BktParams, type CurvePoint, type CurveVerdict, curvePoints, emptyOpportunityCounts, histogram,
} from '../bkt/index.js';
import { ServiceError } from './errors.js';
import type { FitJobRecord } from './fit-ports.js';

/** Sampling keeps students whose id hashes into the first `keep` of `HASH_BUCKETS` buckets. */
export const HASH_BUCKETS = 1024;

/** One (concept, opportunity) cell of the stored history. */
export interface OpportunityRow {
  readonly conceptId: string;
  readonly opportunity: number;
  readonly students: number;
  readonly errors: number;
  /** Sum over those rows of 1 - p_correct (the prediction the service made before the answer). */
  readonly predictedErrors: number;
}

/** What the report reads; implemented in src/store/report-store.ts. */
export interface ReportStore {
  /** Rows in mastery_history (an estimate is fine: it only chooses whether to sample). */
  historySize(): Promise<number>;
  /** History aggregated by concept and seq <= maxOpportunity, for students in hash buckets [0, keep) (all: HASH_BUCKETS). */
  opportunityRows(maxOpportunity: number, keep: number): Promise<OpportunityRow[]>;
  /** Students per concept and band of P(known) (band b covers [b/bands, (b+1)/bands), the last includes 1). */
  masteryBands(bands: number): Promise<{ conceptId: string; band: number; students: number }[]>;
  /** Every concept's active parameters, at most `limit`. */
  activeParameters(limit: number): Promise<{ conceptId: string; params: BktParams; version: number; fittedAt: string | null; sampleSize: number }[]>;
  /** The most recently created fit job's id, if any. */
  latestFitJobId(): Promise<string | undefined>;
}

export interface ReportOptions {
  readonly maxOpportunity: number;
  readonly minStudents: number;
  /** Above this many history rows, curves are drawn from a sample of students. */
  readonly historyBound: number;
}

export const DEFAULT_REPORT_OPTIONS: ReportOptions = { maxOpportunity: 20, minStudents: 10, historyBound: 500_000 };
export const MASTERY_BANDS = 10;
const MAX_CONCEPTS = 5000;

export interface AdminReportConcept {
  readonly conceptId: string;
  readonly params: BktParams | null;
  readonly version: number | null;
  readonly fittedAt: string | null;
  readonly sampleSize: number | null;
  /** Students per band of P(known). */
  readonly mastery: readonly number[];
  readonly curve: readonly CurvePoint[];
  readonly verdict: CurveVerdict;
}

export interface AdminReport {
  readonly generatedAt: string;
  readonly options: ReportOptions;
  readonly history: { readonly rows: number; readonly sampled: boolean; readonly share: number };
  readonly concepts: readonly AdminReportConcept[];
  readonly latestJob: FitJobRecord | null;
}

export class ReportService {
  constructor(
    private readonly store: ReportStore,
    private readonly readJob: (id: string) => Promise<FitJobRecord>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Builds the report; options are checked here (HTTP passes query values through). */
  async build(options: Partial<ReportOptions> = {}): Promise<AdminReport> {
    const o = { ...DEFAULT_REPORT_OPTIONS, ...options };
    if (!Number.isInteger(o.maxOpportunity) || o.maxOpportunity < 1 || o.maxOpportunity > 200) {
      throw new ServiceError('invalid_input', 'max_opportunity must be an integer from 1 to 200', 'max_opportunity');
    }
    if (!Number.isInteger(o.minStudents) || o.minStudents < 1) {
      throw new ServiceError('invalid_input', 'min_students must be an integer >= 1', 'min_students');
    }
    const rows = await this.store.historySize();
    const keep = rows <= o.historyBound ? HASH_BUCKETS : Math.max(1, Math.floor((HASH_BUCKETS * o.historyBound) / rows));
    const [cells, bands, parameters, jobId] = await Promise.all([
      this.store.opportunityRows(o.maxOpportunity, keep),
      this.store.masteryBands(MASTERY_BANDS),
      this.store.activeParameters(MAX_CONCEPTS),
      this.store.latestFitJobId(),
    ]);
    const ids = new Set<string>([...parameters.map((p) => p.conceptId), ...bands.map((b) => b.conceptId), ...cells.map((c) => c.conceptId)]);
    const counts = new Map<string, ReturnType<typeof emptyOpportunityCounts>>();
    for (const c of cells) {
      let k = counts.get(c.conceptId);
      if (!k) counts.set(c.conceptId, (k = emptyOpportunityCounts(o.maxOpportunity, true)));
      k.students[c.opportunity - 1] += c.students;
      k.errors[c.opportunity - 1] += c.errors;
      k.predictedErrors[c.opportunity - 1] += c.predictedErrors;
    }
    const mastery = new Map<string, number[]>();
    for (const b of bands) {
      const m = mastery.get(b.conceptId) ?? new Array<number>(MASTERY_BANDS).fill(0);
      m[Math.min(MASTERY_BANDS - 1, b.band)] += b.students;
      mastery.set(b.conceptId, m);
    }
    const byConcept = new Map(parameters.map((p) => [p.conceptId, p]));
    const concepts = [...ids].sort().map((conceptId): AdminReportConcept => {
      const k = counts.get(conceptId);
      const curve = k ? curvePoints(k, o.minStudents) : [];
      const p = byConcept.get(conceptId);
      return {
        conceptId,
        params: p?.params ?? null,
        version: p?.version ?? null,
        fittedAt: p?.fittedAt ?? null,
        sampleSize: p?.sampleSize ?? null,
        mastery: mastery.get(conceptId) ?? new Array<number>(MASTERY_BANDS).fill(0),
        curve,
        verdict: assessCurve(curve),
      };
    });
    return {
      generatedAt: this.now().toISOString(),
      options: o,
      history: { rows, sampled: keep < HASH_BUCKETS, share: keep / HASH_BUCKETS },
      concepts,
      latestJob: jobId === undefined ? null : await this.readJob(jobId),
    };
  }
}

/** The bands' edges, for drawing: [lower, upper) per band. */
export function masteryBandEdges(): { lower: number; upper: number }[] {
  return histogram([], MASTERY_BANDS).map(({ lower, upper }) => ({ lower, upper }));
}
