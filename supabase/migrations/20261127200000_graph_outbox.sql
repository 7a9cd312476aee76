-- bkt-engine graph projection: the transactional outbox that feeds Neo4j (see docs/graph.md).
--
-- Plain SQL for Supabase, a PostgreSQL 15 server and embedded PGlite. Everything lives in bkt_internal, which is not
-- exposed by Supabase's REST API (no grants to anon or authenticated).

-- Versions sent to Neo4j: one source that only grows, also across the erasure of a student (student_mastery.version
-- starts again at 1 after an erasure; this does not). Taken while the pair's row is locked, so per pair it grows in
-- commit order.
CREATE SEQUENCE bkt_internal.graph_version_seq AS bigint;

-- One pending row per (student, concept) pair ('mastery') and one per erased student ('removal', concept_id is the nil
-- uuid so that the unique key works). Upserted inside the update's transaction; deleted by the relay once sent, only
-- if its version is still the one sent. enqueued_at is kept when a pending row is updated: it dates the oldest
-- change not yet projected.
CREATE TABLE bkt_internal.graph_outbox (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('mastery', 'removal')),
  student_id  uuid NOT NULL,
  concept_id  uuid NOT NULL,
  level       double precision CHECK (level BETWEEN 0 AND 1),
  mastered    boolean,
  version     bigint NOT NULL CHECK (version >= 1),
  updated_at  timestamptz,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT graph_outbox_pair_key UNIQUE (kind, student_id, concept_id),
  CONSTRAINT graph_outbox_shape CHECK (
    (kind = 'mastery' AND level IS NOT NULL AND mastered IS NOT NULL AND updated_at IS NOT NULL)
    OR (kind = 'removal' AND concept_id = '00000000-0000-0000-0000-000000000000' AND level IS NULL))
);

CREATE INDEX graph_outbox_oldest ON bkt_internal.graph_outbox (enqueued_at, seq);

-- The relay lease: only the instance named in `holder` relays, until expires_at (the database's clock). A plain row,
-- not an advisory lock, so that it works behind a transaction pooler.
CREATE TABLE bkt_internal.graph_lease (
  name       text PRIMARY KEY,
  holder     text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Whether the projection is on, for every instance at once (`bkt graph enable|disable`). ever_enabled stays true once
-- set: erasing a student then always queues the removal of its relationships, also while the projection is off,
-- because the graph may still hold them. last_error is the relay's latest failure, for `bkt graph status`.
CREATE TABLE bkt_internal.graph_settings (
  singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  enabled       boolean NOT NULL DEFAULT false,
  ever_enabled  boolean NOT NULL DEFAULT false,
  changed_at    timestamptz NOT NULL DEFAULT now(),
  last_error    text,
  last_error_at timestamptz
);
INSERT INTO bkt_internal.graph_settings DEFAULT VALUES;

-- Erasure now also queues the removal of the student's relationships from the graph, in the same transaction: its
-- pending mastery rows are dropped and one removal row is upserted with a new version (the graph deletes only
-- relationships older than it). Same signature, so the grants and the auth.users trigger stay as they are.
CREATE OR REPLACE FUNCTION bkt_internal.erase_student(target uuid)
RETURNS TABLE (mastery_rows bigint, history_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  n_mastery bigint;
  n_history bigint;
BEGIN
  -- Lock the student's pairs first so that an update in flight finishes before the erase, not half-way through it.
  PERFORM 1 FROM public.student_mastery s WHERE s.student_id = target FOR UPDATE;
  PERFORM pg_catalog.set_config('bkt.erasing_student', target::text, true);
  DELETE FROM public.mastery_history h WHERE h.student_id = target;
  GET DIAGNOSTICS n_history = ROW_COUNT;
  DELETE FROM public.student_mastery s WHERE s.student_id = target;
  GET DIAGNOSTICS n_mastery = ROW_COUNT;
  PERFORM pg_catalog.set_config('bkt.erasing_student', '', true);
  IF EXISTS (SELECT 1 FROM bkt_internal.graph_settings g WHERE g.ever_enabled) THEN
    DELETE FROM bkt_internal.graph_outbox o WHERE o.kind = 'mastery' AND o.student_id = target;
    INSERT INTO bkt_internal.graph_outbox AS o (kind, student_id, concept_id, version)
    VALUES ('removal', target, '00000000-0000-0000-0000-000000000000',
            pg_catalog.nextval('bkt_internal.graph_version_seq'))
    ON CONFLICT (kind, student_id, concept_id) DO UPDATE SET version = excluded.version
      WHERE o.version < excluded.version;
  END IF;
  RETURN QUERY SELECT n_mastery, n_history;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.erase_student(uuid) FROM PUBLIC;
