-- bkt-engine: the story's mastery_history.created_at back under its own name, and items in the history.
--
-- 1. The time a history row was written is `created_at` again, as the story names it (it was `recorded_at`), with the
--    story's two indexes; `answered_at` stays the caller's time of the answer.
-- 2. `item_id`: the item (question) a response answered, optional, as the caller sent it (1 to 200 characters).
--    Fits by item read (concept_id, item_id) of a concept's history; the index keeps that read off the heap.
-- 3. `params_source`: which parameters computed the row: 'item' (the item's guess and slip over the concept's
--    parameters), 'concept' (the concept's own parameters), 'default' (the built-in defaults). Rows written before
--    this migration have NULL, read as 'default' when params_version is 0 and 'concept' otherwise (history is
--    append-only, so they are not rewritten; that reading is exact, as items did not exist then).

ALTER TABLE public.mastery_history RENAME COLUMN recorded_at TO created_at;

-- The story's two indexes, under the story's names: idx_mastery_history_student on (student_id, recorded_at DESC)
-- follows the rename and is now on (student_id, created_at DESC) without a rebuild.
CREATE INDEX idx_mastery_history_concept ON public.mastery_history (student_id, concept_id, created_at DESC);

ALTER TABLE public.mastery_history
  ADD COLUMN item_id text CONSTRAINT mastery_history_item_id_length CHECK (char_length(item_id) BETWEEN 1 AND 200),
  ADD COLUMN params_source text CONSTRAINT mastery_history_params_source_known
    CHECK (params_source IN ('concept', 'item', 'default'));

CREATE INDEX idx_mastery_history_concept_item
  ON public.mastery_history (concept_id, item_id) WHERE item_id IS NOT NULL;

-- write_response gains the two columns (see 20261127300000 for why the update path is a function).
DROP FUNCTION bkt_internal.write_response(uuid, uuid, double precision, double precision, integer, integer,
  integer, integer, timestamptz, timestamptz, integer, double precision, double precision, double precision,
  double precision, boolean, uuid, uuid, integer, timestamptz, double precision);

CREATE FUNCTION bkt_internal.write_response(
  a_student uuid, a_concept uuid,
  a_known double precision, a_unknown double precision, a_version integer, a_n_responses integer,
  a_n_correct integer, a_params_version integer, a_first_answered_at timestamptz, a_last_answered_at timestamptz,
  a_seq integer, a_mastery_before double precision, a_mastery_after double precision,
  a_p_unknown_after double precision, a_p_correct double precision, a_correct boolean, a_response_id uuid,
  a_session_id uuid, a_history_params_version integer, a_answered_at timestamptz,
  a_graph_threshold double precision, a_item_id text, a_params_source text)
RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  INSERT INTO public.mastery_history (student_id, concept_id, seq, mastery_before, mastery_after, p_unknown_after,
    p_correct, response_correct, response_id, session_id, params_version, answered_at, item_id, params_source)
  VALUES (a_student, a_concept, a_seq, a_mastery_before, a_mastery_after, a_p_unknown_after,
    a_p_correct, a_correct, a_response_id, a_session_id, a_history_params_version, a_answered_at, a_item_id,
    a_params_source);
  UPDATE public.student_mastery sm SET
    p_known = a_known, p_unknown = a_unknown, version = a_version, n_responses = a_n_responses,
    n_correct = a_n_correct, params_version = a_params_version,
    first_answered_at = COALESCE(sm.first_answered_at, a_first_answered_at, pg_catalog.now()),
    last_answered_at = COALESCE(a_last_answered_at, pg_catalog.now()),
    updated_at = pg_catalog.now()
  WHERE sm.student_id = a_student AND sm.concept_id = a_concept;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'write_response: pair (%, %) is not in student_mastery', a_student, a_concept
      USING ERRCODE = 'BK002';
  END IF;
  IF a_graph_threshold IS NOT NULL THEN
    INSERT INTO bkt_internal.graph_outbox AS o (kind, student_id, concept_id, level, mastered, version, updated_at)
    VALUES ('mastery', a_student, a_concept, a_known, a_known >= a_graph_threshold,
      pg_catalog.nextval('bkt_internal.graph_version_seq'), pg_catalog.now())
    ON CONFLICT (kind, student_id, concept_id) DO UPDATE
      SET level = excluded.level, mastered = excluded.mastered, version = excluded.version,
        updated_at = excluded.updated_at
      WHERE o.version < excluded.version;
  END IF;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.write_response(uuid, uuid, double precision, double precision, integer, integer,
  integer, integer, timestamptz, timestamptz, integer, double precision, double precision, double precision,
  double precision, boolean, uuid, uuid, integer, timestamptz, double precision, text, text) FROM PUBLIC;
