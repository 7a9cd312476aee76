/** The mastery API: updates, batch updates, reads, erasure. Handlers translate names; the service does the work. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ConceptMastery, MasteryService, ResponseInput, UpdateResult as ServiceResult } from '../service/index.js';
import { normaliseInstant } from './instant.js';
import { errorResponses, ref } from './openapi.js';
import type { Metrics } from './metrics.js';
import {
  BatchBody,
  BatchResult,
  EraseResult,
  PageQuery,
  PairMastery,
  PairPath,
  ResponseBody,
  StudentMastery,
  StudentPath,
  UpdateResult,
} from './schemas.js';

export const BATCH_BODY_LIMIT = 1024 * 1024;

/** `at` prefixes field names in messages ("responses[3]."), so that a batch's 400 names the item. */
function toInput(b: ResponseBody, at = ''): ResponseInput {
  return {
    studentId: b.student_id,
    conceptId: b.concept_id,
    correct: b.correct,
    ...(b.response_id !== undefined && { responseId: b.response_id }),
    ...(b.session_id !== undefined && { sessionId: b.session_id }),
    ...(b.answered_at !== undefined && { answeredAt: normaliseInstant(b.answered_at, `${at}answered_at`) }),
    ...(b.item_id !== undefined && { itemId: b.item_id }),
  };
}

function toResult(r: ServiceResult) {
  return {
    student_id: r.studentId,
    concept_id: r.conceptId,
    mastery_before: r.masteryBefore,
    mastery_after: r.masteryAfter,
    p_correct: r.pCorrect,
    p_correct_next: r.pCorrectNext,
    mastered: r.mastered,
    newly_mastered: r.newlyMastered,
    n_responses: r.nResponses,
    version: r.version,
    replayed: r.replayed,
    item_id: r.itemId,
    params_source: r.paramsSource,
  };
}

function concept(c: ConceptMastery) {
  return {
    concept_id: c.conceptId,
    level: c.level,
    mastered: c.mastered,
    n_responses: c.nResponses,
    n_correct: c.nCorrect,
    updated_at: c.updatedAt,
  };
}

type App = Parameters<FastifyPluginAsyncTypebox>[0];

/** Counts applied and replayed updates, and masteries newly reached, for `/metrics`. */
function countUpdates(metrics: Metrics, results: readonly ServiceResult[]): void {
  for (const r of results) {
    metrics.updates.inc({ result: r.replayed ? 'replayed' : 'applied' });
    if (r.newlyMastered && !r.replayed) metrics.masteriesReached.inc();
  }
}

/** `POST /api/bkt/update` and `POST /api/bkt/update/batch`. */
function registerUpdateRoutes(app: App, service: MasteryService, metrics: Metrics): void {
  app.post(
    '/api/bkt/update',
    {
      config: { access: 'service' },
      schema: {
        operationId: 'recordResponse',
        summary: 'Record one answer and update its mastery',
        tags: ['mastery'],
        body: ref(ResponseBody),
        response: { 200: ref(UpdateResult), ...errorResponses({ body: true, more: [409] }) },
      },
    },
    async (request) => {
      const result = await service.recordResponse(toInput(request.body));
      countUpdates(metrics, [result]);
      return toResult(result);
    },
  );

  app.post(
    '/api/bkt/update/batch',
    {
      config: { access: 'service' },
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        operationId: 'recordResponses',
        summary: 'Record up to 1000 answers in order, atomically',
        tags: ['mastery'],
        body: ref(BatchBody),
        response: { 200: ref(BatchResult), ...errorResponses({ body: true, more: [409] }) },
      },
    },
    async (request) => {
      const results = await service.recordBatch(request.body.responses.map((b, i) => toInput(b, `responses[${i}].`)));
      countUpdates(metrics, results);
      return { results: results.map(toResult) };
    },
  );
}

/** Reading a student's mastery: every concept (paged) or one. */
function registerReadRoutes(app: App, service: MasteryService): void {
  app.get(
    '/api/bkt/mastery/:student_id',
    {
      config: { access: 'service' },
      schema: {
        operationId: 'readStudentMastery',
        summary: "A student's mastery of every concept answered, 500 per page",
        tags: ['mastery'],
        params: StudentPath,
        querystring: PageQuery,
        response: { 200: ref(StudentMastery), ...errorResponses() },
      },
    },
    async (request) => {
      const page = await service.readStudent(request.params.student_id, request.query.after, request.query.limit);
      return {
        student_id: page.studentId,
        concepts: page.concepts.map(concept),
        ...(page.nextAfter !== undefined && { next_after: page.nextAfter }),
      };
    },
  );

  app.get(
    '/api/bkt/mastery/:student_id/:concept_id',
    {
      config: { access: 'service' },
      schema: {
        operationId: 'readConceptMastery',
        summary: "A student's mastery of one concept (the concept's prior if never answered)",
        tags: ['mastery'],
        params: PairPath,
        response: { 200: ref(PairMastery), ...errorResponses() },
      },
    },
    async (request) => {
      const c = await service.readConcept(request.params.student_id, request.params.concept_id);
      return {
        student_id: c.studentId,
        concept_id: c.conceptId,
        level: c.level,
        mastered: c.mastered,
        n_responses: c.nResponses,
        updated_at: c.updatedAt,
      };
    },
  );
}

/** `DELETE /api/bkt/students/:student_id` (right to erasure). */
function registerErasureRoute(app: App, service: MasteryService): void {
  app.delete(
    '/api/bkt/students/:student_id',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'eraseStudent',
        summary: "Erase a student's mastery and history (right to erasure)",
        tags: ['admin'],
        params: StudentPath,
        response: { 200: ref(EraseResult), ...errorResponses() },
      },
    },
    async (request) => {
      const r = await service.eraseStudent(request.params.student_id);
      return { student_id: request.params.student_id.toLowerCase(), mastery_rows: r.masteryRows, history_rows: r.historyRows };
    },
  );
}

export function masteryRoutes(service: MasteryService, metrics: Metrics): FastifyPluginAsyncTypebox {
  return async (app) => {
    registerUpdateRoutes(app, service, metrics);
    registerReadRoutes(app, service);
    registerErasureRoute(app, service);
  };
}
