/** Schemas of fit jobs, parameters and history (one per shape, as in schemas.ts). */
import { Type, type Static } from 'typebox';
import { ref } from './openapi.js';
import { ParamsSource } from './schemas.js';

const Uuid = (description: string) => Type.String({ format: 'uuid', description });
const Probability = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
const Bound = (name: string) =>
  Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 1 }), Type.Null()], { description: `upper bound on ${name}, null for none` }));

export const FitBody = Type.Object(
  {
    concept_ids: Type.Optional(Type.Array(Uuid('a concept'), { minItems: 1, maxItems: 10000, description: 'concepts to fit (default: every concept with history)' })),
    restarts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'EM starts per concept (default 5)' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'seed of the random restarts (default 0)' })),
    max_iterations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'EM iterations per start (default 100)' })),
    tol: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'convergence tolerance per response (default 1e-6)' })),
    bounds: Type.Optional(
      Type.Union([Type.Object({ guess: Bound('guess'), slip: Bound('slip') }, { additionalProperties: false }), Type.Null()], {
        description: 'upper bounds on guess and slip (default 0.3 each); null for none',
      }),
    ),
    fix: Type.Optional(
      Type.Object(
        {
          prior: Type.Optional(Probability('prior held at this value')),
          learn: Type.Optional(Probability('learn held at this value')),
          guess: Type.Optional(Probability('guess held at this value')),
          slip: Type.Optional(Probability('slip held at this value')),
          forget: Type.Optional(Probability('forget held at this value')),
        },
        { additionalProperties: false },
      ),
    ),
    forget: Type.Optional(Type.Boolean({ description: 'fit forget too (default false: standard BKT)' })),
    fit_forget: Type.Optional(Type.Boolean({ description: "the same as forget, under `bkt fit`'s name (--fit-forget)" })),
    multigs: Type.Optional(
      Type.Boolean({
        description:
          "guess and slip per item from the history's item_id (`bkt fit --multigs item_id`); the fit's items replace " +
          "the concept's (default false: the concept's items stay, carried to the new version)",
      }),
    ),
    multilearn: Type.Optional(
      Type.Boolean({
        description:
          "learn (and forget, with forget or fit_forget) per item from the history's item_id, the transition after an " +
          'answer to the item (`bkt fit --multilearn item_id`); with multigs too, both by item. The fit\'s items replace ' +
          "the concept's (default false)",
      }),
    ),
    min_responses: Type.Optional(Type.Integer({ minimum: 1, description: 'concepts with fewer responses are not fitted (default 1)' })),
    apply_degenerate: Type.Optional(Type.Boolean({ description: 'apply fits flagged degenerate or few_data too (default false)' })),
    replay: Type.Optional(Type.Boolean({ description: "recompute every pair's state from its history under the new parameters (default false)" })),
  },
  { $id: 'FitBody', additionalProperties: false },
);
export type FitBody = Static<typeof FitBody>;

export const FitAccepted = Type.Object({ job_id: Type.String() }, { $id: 'FitAccepted' });

export const JobPath = Type.Object({ job_id: Uuid('the fit job') });
export type JobPath = Static<typeof JobPath>;

const Params = Type.Object({
  prior: Probability('P(L0)'),
  learn: Probability('P(T)'),
  guess: Probability('P(G)'),
  slip: Probability('P(S)'),
  forget: Probability('P(F)'),
});

const Flags = Type.Object({
  degenerate: Type.Boolean(),
  mastery_unreachable: Type.Boolean(),
  at_bound: Type.Boolean(),
  few_data: Type.Boolean(),
});

const ConceptResult = Type.Object({
  concept_id: Type.String(),
  outcome: Type.Union([
    Type.Literal('applied'),
    Type.Literal('not_applied_flagged'),
    Type.Literal('skipped_changed'),
    Type.Literal('skipped_few_responses'),
  ]),
  applied: Type.Boolean(),
  responses: Type.Integer(),
  students: Type.Integer(),
  params: Type.Union([Params, Type.Null()]),
  log_lik: Type.Union([Type.Number(), Type.Null()]),
  iterations: Type.Union([Type.Integer(), Type.Null()]),
  converged: Type.Union([Type.Boolean(), Type.Null()]),
  flags: Type.Union([Flags, Type.Null()]),
  reasons: Type.Array(Type.String()),
  previous_version: Type.Integer(),
  new_version: Type.Union([Type.Integer(), Type.Null()]),
  pairs_replayed: Type.Integer(),
}, { $id: 'FitConceptResult' });

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const FitJob = Type.Object({
  job_id: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('done'),
    Type.Literal('failed'),
    Type.Literal('interrupted'),
  ]),
  options: Type.Object({
    concept_ids: Type.Union([Type.Array(Type.String()), Type.Null()]),
    restarts: Type.Integer(),
    seed: Type.Integer(),
    max_iterations: Type.Integer(),
    tol: Type.Number(),
    bounds: Type.Object({ guess: Type.Union([Type.Number(), Type.Null()]), slip: Type.Union([Type.Number(), Type.Null()]) }),
    fix: Type.Record(Type.String(), Type.Number()),
    forget: Type.Boolean(),
    multigs: Type.Boolean(),
    multilearn: Type.Boolean(),
    min_responses: Type.Integer(),
    apply_degenerate: Type.Boolean(),
    replay: Type.Boolean(),
  }),
  progress: Type.Object({
    phase: Type.String({ description: 'queued, reading, fitting, applying, replaying or finished' }),
    rows_read: Type.Integer(),
    units_done: Type.Integer({ description: '(concept, restart) EM runs finished' }),
    units_total: Type.Integer(),
    pairs_replayed: Type.Integer(),
    pairs_total: Type.Integer(),
  }),
  results: Type.Union([
    Type.Object({
      responses: Type.Integer(),
      log_lik: Type.Number({ description: "sum of the fitted concepts' log-likelihoods" }),
      seconds: Type.Object({ read: Type.Number(), fit: Type.Number(), apply: Type.Number(), replay: Type.Number() }),
      concepts: Type.Array(ref(ConceptResult)),
    }),
    Type.Null(),
  ]),
  error: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Nullable(Type.String({ format: 'date-time' })),
  finished_at: Nullable(Type.String({ format: 'date-time' })),
  heartbeat_at: Type.String({ format: 'date-time' }),
}, { $id: 'FitJob' });

export const ConceptPath = Type.Object({ concept_id: Uuid('the concept') });
export type ConceptPath = Static<typeof ConceptPath>;

export const ParametersBody = Type.Object(
  {
    prior: Probability('P(L0), the prior'),
    learn: Probability('P(T), learning per opportunity'),
    guess: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'P(G)' }),
    slip: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'P(S)' }),
    forget: Type.Optional(Probability('P(F), default 0')),
  },
  { $id: 'ParametersBody', additionalProperties: false },
);
export type ParametersBody = Static<typeof ParametersBody>;

export const ConceptParameters = Type.Object({
  concept_id: Type.String(),
  prior: Type.Number(),
  learn: Type.Number(),
  guess: Type.Number(),
  slip: Type.Number(),
  forget: Type.Number(),
  version: Type.Integer({ description: '0 = the built-in defaults (no row)' }),
  source: Type.Union([Type.Literal('stored'), Type.Literal('defaults')]),
  fitted_at: Nullable(Type.String({ format: 'date-time' })),
  sample_size: Type.Integer(),
  updated_at: Nullable(Type.String({ format: 'date-time' })),
}, { $id: 'ConceptParameters' });

const ItemIdSchema = Type.String({ minLength: 1, maxLength: 200, description: 'the item (question) id' });

/** A probability strictly inside (0, 1) (`open`) or in [0, 1], or null; the description on the union. */
const OrNull = (open: boolean, description: string) =>
  Type.Union([open ? Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }) : Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description });

export const ItemParameters = Type.Object(
  {
    item_id: ItemIdSchema,
    guess: OrNull(true, "P(G) for this item; null: the concept's (the item has learn or forget only)"),
    slip: OrNull(true, "P(S) for this item; null: the concept's"),
    learn: OrNull(false, "P(T) after an answer to this item (a fit with multilearn); null: the concept's"),
    forget: OrNull(false, "P(F) after an answer to this item (a fit with multilearn); null: the concept's"),
  },
  { $id: 'ItemParameters', additionalProperties: false },
);

export const ItemValues = Type.Object(
  {
    item_id: ItemIdSchema,
    guess: Type.Optional(OrNull(true, "P(G) for this item, given with slip (absent or null: the concept's)")),
    slip: Type.Optional(OrNull(true, "P(S) for this item, given with guess (absent or null: the concept's)")),
    learn: Type.Optional(OrNull(false, "P(T) after an answer to this item (absent or null: the concept's)")),
    forget: Type.Optional(OrNull(false, "P(F) after an answer to this item (absent or null: the concept's)")),
  },
  {
    $id: 'ItemValues',
    additionalProperties: false,
    description: 'One item: guess and slip together, learn, forget, or any of these; at least one value',
  },
);

export const ItemsBody = Type.Object(
  {
    items: Type.Array(ref(ItemValues), {
      maxItems: 10_000,
      description: "the concept's complete item set from now on (an empty list removes every item's own values)",
    }),
  },
  { $id: 'ItemsBody', additionalProperties: false },
);
export type ItemsBody = Static<typeof ItemsBody>;

export const ItemsPage = Type.Object({
  concept_id: Type.String(),
  version: Type.Integer({ description: "the concept's parameter version these items belong to (0 = none stored)" }),
  items: Type.Array(ref(ItemParameters)),
  next_after: Type.Optional(Type.String({ description: 'pass as ?after= for the next page' })),
}, { $id: 'ItemsPage' });

export const ItemsQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_after of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size (default 1000)' })),
  },
  { additionalProperties: false },
);
export type ItemsQuery = Static<typeof ItemsQuery>;

export const ItemsWritten = Type.Object({
  concept_id: Type.String(),
  version: Type.Integer({ description: 'the new parameter version, in effect for answers from now on' }),
  items: Type.Integer({ description: 'how many items were set' }),
}, { $id: 'ItemsWritten' });

export const ParametersPage = Type.Object({
  concepts: Type.Array(ref(ConceptParameters)),
  next_after: Type.Optional(Type.String({ description: 'pass as ?after= for the next page' })),
}, { $id: 'ParametersPage' });

const Limit = (max: number, dflt: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: max, description: `page size (default ${dflt})` }));

export const ParametersQuery = Type.Object(
  { after: Type.Optional(Uuid('next_after of the previous page')), limit: Limit(500, 500) },
  { additionalProperties: false },
);
export type ParametersQuery = Static<typeof ParametersQuery>;

export const HistoryPath = Type.Object({ student_id: Uuid('the student') });
export type HistoryPath = Static<typeof HistoryPath>;

export const HistoryQuery = Type.Object(
  {
    concept_id: Type.Optional(Uuid('only this concept')),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'recorded at or after (ISO 8601)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'recorded before (ISO 8601)' })),
    limit: Limit(1000, 100),
    after: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'next_after of the previous page' })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const HistoryPage = Type.Object({
  student_id: Type.String(),
  rows: Type.Array(
    Type.Object({
      concept_id: Type.String(),
      seq: Type.Integer({ description: "the pair's answer number (1, 2, ...)" }),
      correct: Type.Boolean(),
      mastery_before: Type.Number(),
      mastery_after: Type.Number(),
      p_correct: Type.Number(),
      params_version: Type.Integer({ description: 'the parameter version the row was computed with (0 = defaults)' }),
      response_id: Nullable(Type.String()),
      session_id: Nullable(Type.String()),
      answered_at: Nullable(Type.String({ format: 'date-time' })),
      item_id: Nullable(Type.String({ description: 'the item answered, as sent with the answer' })),
      params_source: ParamsSource,
      created_at: Type.String({ format: 'date-time', description: 'when the row was written (the database clock)' }),
    }),
  ),
  next_after: Type.Optional(Type.String({ description: 'pass as ?after= for the next page' })),
}, { $id: 'HistoryPage' });

/** The named schemas of the fit, parameter and history routes, registered once by buildApp. */
export const FIT_SCHEMAS = [FitBody, FitAccepted, ConceptResult, FitJob, ParametersBody, ConceptParameters, ParametersPage, HistoryPage,
  ItemParameters, ItemValues, ItemsBody, ItemsPage, ItemsWritten];
