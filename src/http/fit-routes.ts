/** Fit jobs, parameters and history: handlers translate names; the services do the work. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {
  AdminService, ConceptParametersView, FitJobRecord, FitJobService, FitRequest, HistoryRow,
} from '../service/index.js';
import { normaliseInstant } from './instant.js';
import { errorResponses, ref } from './openapi.js';
import {
  ConceptParameters, ConceptPath, FitAccepted, FitBody, FitJob, HistoryPage, HistoryPath, HistoryQuery, JobPath,
  ItemsBody, ItemsPage, ItemsQuery, ItemsWritten, ParametersBody, ParametersPage, ParametersQuery,
} from './fit-schemas.js';

/** The body limit of PUT .../items: the schema's 10,000 items with 200-character ids fit (about 2.5 MB in ASCII). */
export const ITEMS_BODY_LIMIT = 8 * 1024 * 1024;

function parameters(p: ConceptParametersView) {
  return {
    concept_id: p.conceptId,
    ...p.params,
    version: p.version,
    source: p.source,
    fitted_at: p.fittedAt,
    sample_size: p.sampleSize,
    updated_at: p.updatedAt,
  };
}

function job(j: FitJobRecord) {
  const o = j.options;
  const p = j.progress;
  return {
    job_id: j.id,
    status: j.status,
    options: {
      concept_ids: o.conceptIds === null ? null : [...o.conceptIds],
      restarts: o.restarts,
      seed: o.seed,
      max_iterations: o.maxIterations,
      tol: o.tol,
      bounds: o.bounds,
      fix: o.fix as Record<string, number>,
      forget: o.forget,
      multigs: o.multigs ?? false,
      multilearn: o.multilearn ?? false,
      min_responses: o.minResponses,
      apply_degenerate: o.applyDegenerate,
      replay: o.replay,
    },
    progress: {
      phase: p.phase,
      rows_read: p.rowsRead,
      units_done: p.unitsDone,
      units_total: p.unitsTotal,
      pairs_replayed: p.pairsReplayed,
      pairs_total: p.pairsTotal,
    },
    results:
      j.results === null
        ? null
        : {
            responses: j.results.responses,
            log_lik: j.results.logLik,
            seconds: j.results.seconds,
            concepts: j.results.concepts.map((c) => ({
              concept_id: c.conceptId,
              outcome: c.outcome,
              applied: c.applied,
              responses: c.responses,
              students: c.students,
              params: c.params,
              log_lik: c.logLik,
              iterations: c.iterations,
              converged: c.converged,
              flags: c.flags,
              reasons: [...c.reasons],
              previous_version: c.previousVersion,
              new_version: c.newVersion,
              pairs_replayed: c.pairsReplayed,
            })),
          },
    error: j.error,
    created_at: j.createdAt,
    started_at: j.startedAt,
    finished_at: j.finishedAt,
    heartbeat_at: j.heartbeatAt,
  };
}

type App = Parameters<FastifyPluginAsyncTypebox>[0];

/** The job options a `POST /api/bkt/fit` body asks for; absent fields keep the service's defaults. */
function fitOptions(b: FitBody): FitRequest {
  return {
    ...(b.concept_ids !== undefined && { conceptIds: b.concept_ids }),
    ...(b.restarts !== undefined && { restarts: b.restarts }),
    ...(b.seed !== undefined && { seed: b.seed }),
    ...(b.max_iterations !== undefined && { maxIterations: b.max_iterations }),
    ...(b.tol !== undefined && { tol: b.tol }),
    ...(b.bounds !== undefined && { bounds: b.bounds }),
    ...(b.fix !== undefined && { fix: b.fix }),
    ...(b.forget !== undefined && { forget: b.forget }),
    ...(b.fit_forget !== undefined && { fitForget: b.fit_forget }),
    ...(b.multigs !== undefined && { multigs: b.multigs }),
    ...(b.multilearn !== undefined && { multilearn: b.multilearn }),
    ...(b.min_responses !== undefined && { minResponses: b.min_responses }),
    ...(b.apply_degenerate !== undefined && { applyDegenerate: b.apply_degenerate }),
    ...(b.replay !== undefined && { replay: b.replay }),
  };
}

function historyRow(r: HistoryRow) {
  return {
    concept_id: r.conceptId,
    seq: r.seq,
    correct: r.correct,
    mastery_before: r.masteryBefore,
    mastery_after: r.masteryAfter,
    p_correct: r.pCorrect,
    params_version: r.paramsVersion,
    response_id: r.responseId,
    session_id: r.sessionId,
    answered_at: r.answeredAt,
    item_id: r.itemId,
    params_source: r.paramsSource,
    created_at: r.createdAt,
  };
}

/** `POST /api/bkt/fit` and `GET /api/bkt/fit/:job_id`. */
function registerFitJobRoutes(app: App, fitJobs: FitJobService): void {
  app.post(
    '/api/bkt/fit',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'startFitJob',
        summary: 'Start a fit job over the stored history (one at a time)',
        tags: ['admin'],
        body: ref(FitBody),
        response: { 202: ref(FitAccepted, { description: 'Accepted; Location names the job' }), ...errorResponses({ body: true, more: [409] }) },
      },
    },
    async (request, reply) => {
      const id = await fitJobs.start(fitOptions(request.body));
      reply.code(202).header('location', `/api/bkt/fit/${id}`);
      return { job_id: id };
    },
  );

  app.get(
    '/api/bkt/fit/:job_id',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'readFitJob',
        summary: "A fit job's status, progress and per-concept results",
        tags: ['admin'],
        params: JobPath,
        response: { 200: ref(FitJob), ...errorResponses({ more: [404] }) },
      },
    },
    async (request) => job(await fitJobs.get(request.params.job_id)),
  );
}

/** Reading and setting a concept's parameters. */
function registerParameterRoutes(app: App, admin: AdminService): void {
  app.get(
    '/api/bkt/parameters',
    {
      config: { access: 'service' },
      schema: {
        operationId: 'listParameters',
        summary: 'Stored per-concept parameters in concept-id order, 500 per page',
        tags: ['parameters'],
        querystring: ParametersQuery,
        response: { 200: ref(ParametersPage), ...errorResponses() },
      },
    },
    async (request) => {
      const page = await admin.listParameters(request.query.after, request.query.limit);
      return { concepts: page.concepts.map(parameters), ...(page.nextAfter !== undefined && { next_after: page.nextAfter }) };
    },
  );

  app.get(
    '/api/bkt/parameters/:concept_id',
    {
      config: { access: 'service' },
      schema: {
        operationId: 'readParameters',
        summary: "A concept's parameters (the defaults, version 0, when none are stored)",
        tags: ['parameters'],
        params: ConceptPath,
        response: { 200: ref(ConceptParameters), ...errorResponses() },
      },
    },
    async (request) => parameters(await admin.getParameters(request.params.concept_id)),
  );

  app.put(
    '/api/bkt/parameters/:concept_id',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'putParameters',
        summary: "Set a concept's parameters (a new version; states continue under them)",
        tags: ['admin'],
        params: ConceptPath,
        body: ref(ParametersBody),
        response: { 200: ref(ConceptParameters), ...errorResponses({ body: true }) },
      },
    },
    async (request) => parameters(await admin.putParameters(request.params.concept_id, request.body)),
  );
}

/** A concept's items with their own guess and slip, learn and forget. */
function registerItemRoutes(app: App, admin: AdminService): void {
  app.get(
    '/api/bkt/parameters/:concept_id/items',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'listItemParameters',
        summary: "A concept's items with their own guess, slip, learn and forget, 1000 per page by item id",
        tags: ['admin'],
        params: ConceptPath,
        querystring: ItemsQuery,
        response: { 200: ref(ItemsPage), ...errorResponses() },
      },
    },
    async (request) => {
      const page = await admin.getItems(request.params.concept_id, request.query.after, request.query.limit);
      return {
        concept_id: page.conceptId,
        version: page.version,
        items: page.items.map((i) => ({ item_id: i.itemId, guess: i.guess, slip: i.slip, learn: i.learn, forget: i.forget })),
        ...(page.nextAfter !== undefined && { next_after: page.nextAfter }),
      };
    },
  );

  app.put(
    '/api/bkt/parameters/:concept_id/items',
    {
      config: { access: 'admin' },
      bodyLimit: ITEMS_BODY_LIMIT,
      schema: {
        operationId: 'putItemParameters',
        summary: "Set a concept's items (guess, slip, learn, forget per item) under a new parameter version",
        tags: ['admin'],
        params: ConceptPath,
        body: ref(ItemsBody),
        response: { 200: ref(ItemsWritten), ...errorResponses({ body: true }) },
      },
    },
    async (request) => {
      const r = await admin.putItems(
        request.params.concept_id,
        request.body.items.map((i) => ({ itemId: i.item_id, guess: i.guess, slip: i.slip, learn: i.learn, forget: i.forget })),
      );
      return { concept_id: r.conceptId, version: r.version, items: r.items };
    },
  );
}

/** `GET /api/bkt/history/:student_id`. */
function registerHistoryRoutes(app: App, admin: AdminService): void {
  app.get(
    '/api/bkt/history/:student_id',
    {
      config: { access: 'service' },
      schema: {
        operationId: 'readHistory',
        summary: "A student's answers in time order with mastery before and after (for trend charts)",
        tags: ['mastery'],
        params: HistoryPath,
        querystring: HistoryQuery,
        response: { 200: ref(HistoryPage), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await admin.readHistory({
        studentId: request.params.student_id,
        ...(q.concept_id !== undefined && { conceptId: q.concept_id }),
        ...(q.from !== undefined && { from: normaliseInstant(q.from, 'from') }),
        ...(q.to !== undefined && { to: normaliseInstant(q.to, 'to') }),
        ...(q.after !== undefined && { after: q.after }),
        ...(q.limit !== undefined && { limit: q.limit }),
      });
      return {
        student_id: request.params.student_id.toLowerCase(),
        rows: page.rows.map(historyRow),
        ...(page.nextAfter !== undefined && { next_after: page.nextAfter }),
      };
    },
  );
}

export function fitRoutes(fitJobs: FitJobService, admin: AdminService): FastifyPluginAsyncTypebox {
  return async (app) => {
    registerFitJobRoutes(app, fitJobs);
    registerParameterRoutes(app, admin);
    registerItemRoutes(app, admin);
    registerHistoryRoutes(app, admin);
  };
}
