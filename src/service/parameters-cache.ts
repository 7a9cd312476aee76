/**
 * Per-concept parameters from the database, else the story's defaults, held in memory. A cheap epoch query every
 * `refreshMs` notices changes made by any instance (or by hand in SQL) and reloads, so a change is in effect within
 * about that interval everywhere.
 */
import { DEFAULT_PARAMS, type BktParams } from '../bkt/index.js';
import type { ConceptParameters, ParameterSource } from './ports.js';

export interface ResolvedParameters {
  readonly params: BktParams;
  /** bkt_parameters.version, or 0 for the defaults. */
  readonly version: number;
}

const DEFAULTS: ResolvedParameters = Object.freeze({ params: DEFAULT_PARAMS, version: 0 });

export class ParametersCache {
  private byConcept = new Map<string, ResolvedParameters>();
  private epoch: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly source: ParameterSource,
    private readonly refreshMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Loads once, then polls in the background until stop(). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().then(
        () => {
          this.failing = false;
        },
        (err: unknown) => {
          // Once per outage, not every poll: the cached parameters stay in use meanwhile.
          if (!this.failing) this.onError(err);
          this.failing = true;
        },
      );
    }, this.refreshMs);
    // The poll alone must not keep the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reloads if the epoch moved. Concurrent calls share one query. */
  refresh(): Promise<void> {
    this.refreshing ??= this.reloadIfChanged().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  get(conceptId: string): ResolvedParameters {
    return this.byConcept.get(conceptId) ?? DEFAULTS;
  }

  private async reloadIfChanged(): Promise<void> {
    const epoch = await this.source.parametersEpoch();
    if (epoch === this.epoch) return;
    const rows: ConceptParameters[] = await this.source.loadParameters();
    this.byConcept = new Map(rows.map((r) => [r.conceptId, { params: r.params, version: r.version }]));
    this.epoch = epoch;
  }
}
