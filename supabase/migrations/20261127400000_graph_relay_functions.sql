-- bkt-engine graph projection: the relay's two statements as functions (see docs/graph.md, "Benchmark").
--
-- While the service is busy the relay runs a cycle every few tens of milliseconds: read the oldest pending rows, send
-- them, delete the ones still at the version sent. Sent as plain statements, each cycle was parsed and planned again
-- (no prepared statements behind a transaction pooler), which made up most of the relay's cost in the database. Inside
-- PL/pgSQL functions the plans are kept for the life of the connection, as for the update path's functions.
--
-- A kept plan must stay right while the outbox goes from a handful of rows (the relay keeping up) to millions (after an
-- outage), and the planner's statistics lag behind both; after a backlog drains, the table and its indexes stay large
-- and nearly empty, which makes a sequential scan look cheap. Both functions therefore run with sequential scans
-- disabled: the oldest rows are read along the seq index, and each sent row is found by its key, so a batch costs
-- the same whatever the backlog. (Planned as one join, the delete scanned the whole outbox for every batch: O(backlog)
-- per batch, 40 ms at 200,000 rows pending on the benchmark machine, against 13 ms by key.)

-- The oldest pending rows (seq orders them as their first queueing), updated_at as an ISO-8601 string in UTC.
CREATE FUNCTION bkt_internal.graph_outbox_next(a_limit integer)
RETURNS TABLE (kind text, student_id text, concept_id text, level double precision, mastered boolean,
  version text, updated_at text, enqueued_at timestamptz)
LANGUAGE plpgsql STABLE SET search_path = '' SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY
  SELECT o.kind, o.student_id::text, o.concept_id::text, o.level, o.mastered, o.version::text,
    pg_catalog.to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), o.enqueued_at
  FROM bkt_internal.graph_outbox o
  ORDER BY o.seq
  LIMIT a_limit;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.graph_outbox_next(integer) FROM PUBLIC;

-- Deletes the rows sent (a jsonb array of {kind, student_id, concept_id, version}) that are still at the version sent,
-- and returns how many. Rows are locked in key order, the order updates lock them in; a row updated meanwhile fails
-- the version check when re-read under the lock, so it stays pending.
CREATE FUNCTION bkt_internal.graph_outbox_ack(a_sent jsonb)
RETURNS integer
LANGUAGE plpgsql SET search_path = '' SET enable_seqscan = off AS $$
DECLARE
  n integer;
BEGIN
  -- The lateral subquery cannot be merged into a join (it locks), so each sent row is looked up by the pair key,
  -- in key order.
  WITH doomed AS (
    SELECT hit.seq
    FROM (SELECT x.* FROM pg_catalog.jsonb_to_recordset(a_sent) AS x(kind text, student_id uuid, concept_id uuid, version bigint)
          ORDER BY x.kind, x.student_id, x.concept_id) AS s
    CROSS JOIN LATERAL (
      SELECT o.seq FROM bkt_internal.graph_outbox o
      WHERE o.kind = s.kind AND o.student_id = s.student_id AND o.concept_id = s.concept_id AND o.version = s.version
      FOR UPDATE) AS hit
  )
  DELETE FROM bkt_internal.graph_outbox o WHERE o.seq = ANY (ARRAY(SELECT doomed.seq FROM doomed));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.graph_outbox_ack(jsonb) FROM PUBLIC;
