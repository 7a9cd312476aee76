-- bkt-engine: the single-response update path as two functions (see docs/service.md, "Update path").
--
-- Why functions: behind a transaction pooler the service cannot keep prepared statements, so every statement it sends
-- is parsed and planned again. For the statements of one update that was most of PostgreSQL's work per answer.
-- PL/pgSQL keeps the plans of the statements inside a function for the life of the connection, and a call to it is
-- trivial to plan, so these functions give prepared-statement costs through any pooler. The BKT arithmetic stays in
-- the service's core: lock_pair hands the state out, write_response stores what the core computed.
--
-- Batches keep their set-based statements (one plan for up to 1,000 answers).

-- Locks a pair's row for the rest of the transaction and returns it, inserting the prior row first when the pair has
-- never been seen. Each statement of a PL/pgSQL function takes a new snapshot under READ COMMITTED, so a row that
-- another transaction inserted and committed while this one waited is seen by the last SELECT.
CREATE FUNCTION bkt_internal.lock_pair(
  a_student uuid, a_concept uuid, a_known double precision, a_unknown double precision, a_params_version integer)
RETURNS SETOF public.student_mastery
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  r public.student_mastery;
BEGIN
  SELECT sm.* INTO r FROM public.student_mastery sm
  WHERE sm.student_id = a_student AND sm.concept_id = a_concept FOR UPDATE;
  IF FOUND THEN
    RETURN NEXT r;
    RETURN;
  END IF;
  INSERT INTO public.student_mastery AS sm (student_id, concept_id, p_known, p_unknown, params_version)
  VALUES (a_student, a_concept, a_known, a_unknown, a_params_version)
  ON CONFLICT (student_id, concept_id) DO NOTHING
  RETURNING sm.* INTO r;
  IF FOUND THEN
    RETURN NEXT r;
    RETURN;
  END IF;
  RETURN QUERY SELECT sm.* FROM public.student_mastery sm
  WHERE sm.student_id = a_student AND sm.concept_id = a_concept FOR UPDATE;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.lock_pair(uuid, uuid, double precision, double precision, integer) FROM PUBLIC;

-- Writes one answer of a pair locked by lock_pair: its history row, then the pair's new state, then (when
-- a_graph_threshold is not null, i.e. the graph projection is on) the pair's outbox row, with the same guard as the
-- set-based outbox upsert. A response id already recorded fails the history insert (unique_violation on
-- mastery_history_response_id_key), so the transaction, which the caller may commit in the same round trip, writes
-- nothing; the caller then answers with the first result. A pair that is not there is an error, never a skip.
CREATE FUNCTION bkt_internal.write_response(
  a_student uuid, a_concept uuid,
  a_known double precision, a_unknown double precision, a_version integer, a_n_responses integer,
  a_n_correct integer, a_params_version integer, a_first_answered_at timestamptz, a_last_answered_at timestamptz,
  a_seq integer, a_mastery_before double precision, a_mastery_after double precision,
  a_p_unknown_after double precision, a_p_correct double precision, a_correct boolean, a_response_id uuid,
  a_session_id uuid, a_history_params_version integer, a_answered_at timestamptz,
  a_graph_threshold double precision)
RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  INSERT INTO public.mastery_history (student_id, concept_id, seq, mastery_before, mastery_after, p_unknown_after,
    p_correct, response_correct, response_id, session_id, params_version, answered_at)
  VALUES (a_student, a_concept, a_seq, a_mastery_before, a_mastery_after, a_p_unknown_after,
    a_p_correct, a_correct, a_response_id, a_session_id, a_history_params_version, a_answered_at);
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
  double precision, boolean, uuid, uuid, integer, timestamptz, double precision) FROM PUBLIC;
