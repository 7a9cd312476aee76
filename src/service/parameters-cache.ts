/**
 * Per-concept parameters (with their items' own values) from the database, else the story's defaults, held in
 * memory. A cheap epoch query every `refreshMs` notices changes made by any instance (or by hand in SQL) and reloads,
 * so a change is in effect within about that interval everywhere. An update resolves its parameters here with two
 * map lookups and no allocation: each item's full parameter set is built once, at load.
 */
import { DEFAULT_PARAMS, type BktParams } from '../bkt/index.js';
import { itemParams } from './item-params.js';
import type { VersionedParams, ParameterSource, ParamsOrigin } from './ports.js';

export interface ResolvedParameters {
  readonly params: BktParams;
  /** bkt_parameters.version, or 0 for the defaults. */
  readonly version: number;
  /** 'concept' for stored parameters, 'default' for the built-in defaults. */
  readonly source: 'concept' | 'default';
  /** Each item with values of its own: the concept's parameters with the item's non-null values in their place. */
  readonly items: ReadonlyMap<string, BktParams>;
}

/** The parameters one answer is computed with. */
export interface AnswerParameters {
  readonly params: BktParams;
  readonly version: number;
  readonly source: ParamsOrigin;
}

const DEFAULTS: ResolvedParameters = Object.freeze({
  params: DEFAULT_PARAMS,
  version: 0,
  source: 'default',
  items: new Map<string, BktParams>(),
});

/** The item's parameters when the concept has them for `itemId`, else the concept's (or the defaults). */
export function forItem(p: ResolvedParameters, itemId: string | null | undefined): AnswerParameters {
  const item = itemId == null ? undefined : p.items.get(itemId);
  if (item === undefined) return p;
  return { params: item, version: p.version, source: 'item' };
}

/** A concept's row as the cache holds it (items expanded to full parameter sets). */
export function resolveConcept(r: VersionedParams): ResolvedParameters {
  return {
    params: r.params,
    version: r.version,
    source: 'concept',
    items: new Map(r.items.map((i) => [i.itemId, itemParams(r.params, i)])),
  };
}

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
    const rows: VersionedParams[] = await this.source.loadParameters();
    this.byConcept = new Map(rows.map((r) => [r.conceptId, resolveConcept(r)]));
    this.epoch = epoch;
  }
}
