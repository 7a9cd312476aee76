-- Only bkt_internal.erase_student can remove history. The append-only trigger used to let a DELETE through when the
-- transaction had set the session variable bkt.erasing_student, which any role can set: a role holding DELETE on
-- mastery_history (Supabase's service_role has it by default, and bypasses row level security) could erase a
-- student's history and leave student_mastery behind. The trigger now asks for a row that only the owner of
-- bkt_internal can write, tied to the current transaction id, and erase_student (SECURITY DEFINER, owned by that
-- owner) writes it around its DELETE and removes it before returning. No session variable is read any more.

CREATE TABLE bkt_internal.history_erasures (
  txid       bigint NOT NULL,
  student_id uuid NOT NULL,
  PRIMARY KEY (txid, student_id)
);
REVOKE ALL ON bkt_internal.history_erasures FROM PUBLIC;

-- SECURITY DEFINER: the trigger runs as the owner, so it can read history_erasures whatever the caller's grants.
CREATE OR REPLACE FUNCTION bkt_internal.refuse_history_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (
    SELECT 1 FROM bkt_internal.history_erasures e
     WHERE e.txid = pg_catalog.txid_current() AND e.student_id = OLD.student_id
  ) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'mastery_history is append-only: % refused', TG_OP
    USING ERRCODE = 'BK001', HINT = 'use bkt_internal.erase_student(student_id) to erase a student';
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.refuse_history_change() FROM PUBLIC;

-- Same signature and body as before, with the erasure row in place of the session variable.
CREATE OR REPLACE FUNCTION bkt_internal.erase_student(target uuid)
RETURNS TABLE (mastery_rows bigint, history_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  n_mastery bigint;
  n_history bigint;
BEGIN
  -- Lock the student's pairs first so that an update in flight finishes before the erase, not half-way through it.
  PERFORM 1 FROM public.student_mastery s WHERE s.student_id = target FOR UPDATE;
  INSERT INTO bkt_internal.history_erasures (txid, student_id) VALUES (pg_catalog.txid_current(), target)
    ON CONFLICT DO NOTHING;
  DELETE FROM public.mastery_history h WHERE h.student_id = target;
  GET DIAGNOSTICS n_history = ROW_COUNT;
  DELETE FROM bkt_internal.history_erasures e WHERE e.txid = pg_catalog.txid_current() AND e.student_id = target;
  DELETE FROM public.student_mastery s WHERE s.student_id = target;
  GET DIAGNOSTICS n_mastery = ROW_COUNT;
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

-- Supabase's service_role may read state and history (dashboards, edge functions) but not write either: answers go
-- through the service (which connects as the owner), erasure through erase_student. It keeps its grants on
-- bkt_parameters (admin tooling) and can call nothing in bkt_internal.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.student_mastery, public.mastery_history FROM service_role;
    REVOKE ALL ON bkt_internal.history_erasures FROM service_role;
  END IF;
END
$$;
