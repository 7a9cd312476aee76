/** One TypeBox schema per shape: request validation, the handlers' types, the response serialiser and OpenAPI. */
import { Type, type Static } from 'typebox';
import { ref } from './openapi.js';

const Uuid = (description: string) => Type.String({ format: 'uuid', description });
const Probability = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });

/** An item (question) id: any string of 1 to 200 characters, compared exactly. */
export const ItemId = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });

export const ParamsSource = Type.Union([Type.Literal('item'), Type.Literal('concept'), Type.Literal('default')], {
  description:
    "which parameters computed the answer: 'item' (the item's guess and slip over the concept's parameters), " +
    "'concept' (the concept's parameters: no item_id, or an item without its own values), 'default' (the built-in defaults)",
});

export const ResponseBody = Type.Object(
  {
    student_id: Uuid('the student'),
    concept_id: Uuid('the concept (knowledge component)'),
    correct: Type.Boolean({ description: 'whether the answer was correct' }),
    response_id: Type.Optional(Uuid('idempotency key: a repeat returns the first result with replayed: true')),
    session_id: Type.Optional(Uuid('practice session, stored in the history')),
    answered_at: Type.Optional(Type.String({ format: 'date-time', description: 'when the student answered (ISO 8601)' })),
    item_id: Type.Optional(
      ItemId("the item (question) answered, 1 to 200 characters; its own guess and slip apply when the concept has them"),
    ),
  },
  { $id: 'ResponseBody', additionalProperties: false },
);
export type ResponseBody = Static<typeof ResponseBody>;

export const BatchBody = Type.Object(
  { responses: Type.Array(ref(ResponseBody), { minItems: 1, maxItems: 1000, description: 'applied in order, all or nothing' }) },
  { $id: 'BatchBody', additionalProperties: false },
);
export type BatchBody = Static<typeof BatchBody>;

export const UpdateResult = Type.Object({
  student_id: Type.String(),
  concept_id: Type.String(),
  mastery_before: Probability('P(L) before this answer'),
  mastery_after: Probability('P(L) after this answer and the learning transition'),
  p_correct: Probability('P(correct) for this answer, before it was seen'),
  p_correct_next: Probability('P(correct) for the next answer'),
  mastered: Type.Boolean({ description: 'mastery_after >= the threshold' }),
  newly_mastered: Type.Boolean({ description: 'mastered now and not before this answer' }),
  n_responses: Type.Integer(),
  version: Type.Integer({ description: "the pair's version after this answer (= its history seq)" }),
  replayed: Type.Boolean({ description: 'true when response_id was seen before: nothing was written' }),
  item_id: Type.Union([Type.String(), Type.Null()], { description: 'the item_id sent with the answer, or null' }),
  params_source: ParamsSource,
}, { $id: 'UpdateResult' });

export const BatchResult = Type.Object({ results: Type.Array(ref(UpdateResult)) }, { $id: 'BatchResult' });

export const StudentPath = Type.Object({ student_id: Uuid('the student') });
export type StudentPath = Static<typeof StudentPath>;
export const PairPath = Type.Object({ student_id: Uuid('the student'), concept_id: Uuid('the concept') });
export type PairPath = Static<typeof PairPath>;

export const PageQuery = Type.Object(
  {
    after: Type.Optional(Uuid('next_after of the previous page')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'page size (default 500)' })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ConceptMastery = Type.Object({
  concept_id: Type.String(),
  level: Probability('P(L), the mastery level'),
  mastered: Type.Boolean(),
  n_responses: Type.Integer(),
  n_correct: Type.Integer(),
  updated_at: Nullable(Type.String({ format: 'date-time' })),
}, { $id: 'ConceptMastery' });

export const StudentMastery = Type.Object({
  student_id: Type.String(),
  concepts: Type.Array(ref(ConceptMastery)),
  next_after: Type.Optional(Type.String({ description: 'pass as ?after= for the next page' })),
}, { $id: 'StudentMastery' });

export const PairMastery = Type.Object({
  student_id: Type.String(),
  concept_id: Type.String(),
  level: Probability('P(L); the prior for a pair never seen'),
  mastered: Type.Boolean(),
  n_responses: Type.Integer(),
  updated_at: Nullable(Type.String({ format: 'date-time' })),
}, { $id: 'PairMastery' });

export const EraseResult = Type.Object({
  student_id: Type.String(),
  mastery_rows: Type.Integer(),
  history_rows: Type.Integer(),
}, { $id: 'EraseResult' });

/** The named schemas of the mastery routes, registered once by buildApp. */
export const MASTERY_SCHEMAS = [ResponseBody, BatchBody, UpdateResult, BatchResult, ConceptMastery, StudentMastery, PairMastery, EraseResult];
