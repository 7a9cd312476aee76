-- bkt-engine mastery service: per-pair state, the append-only history and per-concept parameters.
--
-- Plain SQL that applies unchanged to Supabase, a PostgreSQL 15 server and embedded PGlite. Everything specific to
-- Supabase (roles, auth.users, auth.uid()) is guarded so that it runs only where those objects exist.
-- Internal objects live in the schema bkt_internal, which is never exposed by Supabase's REST API.

CREATE SCHEMA IF NOT EXISTS bkt_internal;
REVOKE ALL ON SCHEMA bkt_internal FROM PUBLIC;

-- Per-concept parameters (the story's columns plus p_f, forgetting). `version` increases with every change so that
-- history rows can record which parameters they were computed with.
CREATE TABLE public.bkt_parameters (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  concept_id  uuid NOT NULL UNIQUE,
  p_l0        double precision NOT NULL DEFAULT 0.1  CHECK (p_l0 BETWEEN 0 AND 1),
  p_t         double precision NOT NULL DEFAULT 0.2  CHECK (p_t BETWEEN 0 AND 1),
  p_g         double precision NOT NULL DEFAULT 0.25 CHECK (p_g > 0 AND p_g < 1),
  p_s         double precision NOT NULL DEFAULT 0.1  CHECK (p_s > 0 AND p_s < 1),
  p_f         double precision NOT NULL DEFAULT 0    CHECK (p_f BETWEEN 0 AND 1),
  version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  fitted_at   timestamptz,
  sample_size integer DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per (student, concept): the core's exact state (both probabilities; P(L) alone loses precision near 1).
-- mastery_level is P(L), generated so that it can never disagree with p_known. version counts writes and is the seq
-- of the pair's latest history row.
CREATE TABLE public.student_mastery (
  student_id        uuid NOT NULL,
  concept_id        uuid NOT NULL,
  p_known           double precision NOT NULL CHECK (p_known BETWEEN 0 AND 1),
  p_unknown         double precision NOT NULL CHECK (p_unknown BETWEEN 0 AND 1),
  mastery_level     double precision GENERATED ALWAYS AS (p_known) STORED,
  version           integer NOT NULL DEFAULT 0 CHECK (version >= 0),
  n_responses       integer NOT NULL DEFAULT 0 CHECK (n_responses >= 0),
  n_correct         integer NOT NULL DEFAULT 0 CHECK (n_correct >= 0 AND n_correct <= n_responses),
  params_version    integer NOT NULL DEFAULT 0 CHECK (params_version >= 0),
  first_answered_at timestamptz,
  last_answered_at  timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (student_id, concept_id)
);

-- Append-only: one row per applied response. seq is the pair's version after the response (1, 2, ...).
-- The story's created_at is called recorded_at here, to tell it apart from the caller's answered_at.
-- params_version is the bkt_parameters.version used (0 = the built-in defaults).
CREATE TABLE public.mastery_history (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  student_id       uuid NOT NULL,
  concept_id       uuid NOT NULL,
  seq              integer NOT NULL CHECK (seq >= 1),
  mastery_before   double precision NOT NULL CHECK (mastery_before BETWEEN 0 AND 1),
  mastery_after    double precision NOT NULL CHECK (mastery_after BETWEEN 0 AND 1),
  p_unknown_after  double precision NOT NULL CHECK (p_unknown_after BETWEEN 0 AND 1),
  p_correct        double precision NOT NULL CHECK (p_correct BETWEEN 0 AND 1),
  response_correct boolean NOT NULL,
  response_id      uuid UNIQUE,
  session_id       uuid,
  params_version   integer NOT NULL CHECK (params_version >= 0),
  answered_at      timestamptz,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT mastery_history_pair_seq_key UNIQUE (student_id, concept_id, seq)
);

CREATE INDEX idx_mastery_history_student ON public.mastery_history (student_id, recorded_at DESC);

-- Append-only, enforced for the table owner too: triggers fire for every role, grants do not bind the owner.
-- The only exception is erase_student below, which marks its transaction with the student being erased.
CREATE FUNCTION bkt_internal.refuse_history_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('bkt.erasing_student', true) = OLD.student_id::text THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'mastery_history is append-only: % refused', TG_OP
    USING ERRCODE = 'BK001', HINT = 'use bkt_internal.erase_student(student_id) to erase a student';
END
$$;

CREATE TRIGGER mastery_history_append_only
  BEFORE UPDATE OR DELETE ON public.mastery_history
  FOR EACH ROW EXECUTE FUNCTION bkt_internal.refuse_history_change();

CREATE TRIGGER mastery_history_no_truncate
  BEFORE TRUNCATE ON public.mastery_history
  FOR EACH STATEMENT EXECUTE FUNCTION bkt_internal.refuse_history_change();

-- Right to erasure: removes a student's state and history in one transaction. SECURITY DEFINER so that the
-- auth.users delete path (run by Supabase's auth role) can call it; nobody else may execute it.
CREATE FUNCTION bkt_internal.erase_student(target uuid)
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
  RETURN QUERY SELECT n_mastery, n_history;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.erase_student(uuid) FROM PUBLIC;

CREATE FUNCTION bkt_internal.erase_on_user_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  PERFORM bkt_internal.erase_student(OLD.id);
  RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.erase_on_user_delete() FROM PUBLIC;

-- Parameter changes bump one counter, which every service instance polls cheaply to refresh its cache.
CREATE TABLE bkt_internal.parameters_epoch (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  epoch     bigint NOT NULL DEFAULT 0
);
INSERT INTO bkt_internal.parameters_epoch DEFAULT VALUES;

CREATE FUNCTION bkt_internal.bump_parameters_epoch() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  UPDATE bkt_internal.parameters_epoch SET epoch = epoch + 1;
  RETURN NULL;
END
$$;

CREATE TRIGGER bkt_parameters_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.bkt_parameters
  FOR EACH STATEMENT EXECUTE FUNCTION bkt_internal.bump_parameters_epoch();

-- Supabase exposes public tables through its REST API: row level security everywhere, and no policy means no rows.
ALTER TABLE public.bkt_parameters ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.student_mastery ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.mastery_history ENABLE ROW LEVEL SECURITY;

-- Supabase grants everything in public to anon and authenticated by default; take it back where those roles exist.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    REVOKE ALL ON public.bkt_parameters, public.student_mastery, public.mastery_history FROM anon;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    REVOKE ALL ON public.bkt_parameters, public.student_mastery, public.mastery_history FROM authenticated;
    -- Reads only, and only the student's own rows (policies in link_auth below).
    GRANT SELECT ON public.student_mastery, public.mastery_history TO authenticated;
  END IF;
END
$$;

-- Links to Supabase Auth wherever it exists. Idempotent; `bkt migrate` calls it on every run, so a database that gains
-- auth.users later gets the links too.
CREATE FUNCTION bkt_internal.link_auth() RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF pg_catalog.to_regclass('auth.users') IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                 WHERE conname = 'student_mastery_student_id_fkey'
                   AND conrelid = 'public.student_mastery'::pg_catalog.regclass) THEN
    -- NOT VALID first: rows written before auth existed must not stop the migration; validated just below if they can be.
    ALTER TABLE public.student_mastery ADD CONSTRAINT student_mastery_student_id_fkey
      FOREIGN KEY (student_id) REFERENCES auth.users (id) ON DELETE CASCADE NOT VALID;
    BEGIN
      ALTER TABLE public.student_mastery VALIDATE CONSTRAINT student_mastery_student_id_fkey;
    EXCEPTION WHEN foreign_key_violation THEN
      RAISE WARNING 'student_mastery has students missing from auth.users; the foreign key checks new rows only';
    END;
  END IF;
  -- History has no foreign key (its rows cannot be cascaded away); deleting a user erases them through this trigger.
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                 WHERE tgname = 'bkt_erase_on_user_delete'
                   AND tgrelid = 'auth.users'::pg_catalog.regclass) THEN
    CREATE TRIGGER bkt_erase_on_user_delete BEFORE DELETE ON auth.users
      FOR EACH ROW EXECUTE FUNCTION bkt_internal.erase_on_user_delete();
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated')
     AND pg_catalog.to_regprocedure('auth.uid()') IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies
                   WHERE schemaname = 'public' AND tablename = 'student_mastery' AND policyname = 'own_rows') THEN
      CREATE POLICY own_rows ON public.student_mastery FOR SELECT TO authenticated
        USING (student_id = (SELECT auth.uid()));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies
                   WHERE schemaname = 'public' AND tablename = 'mastery_history' AND policyname = 'own_rows') THEN
      CREATE POLICY own_rows ON public.mastery_history FOR SELECT TO authenticated
        USING (student_id = (SELECT auth.uid()));
    END IF;
  END IF;
END
$$;
REVOKE ALL ON FUNCTION bkt_internal.link_auth() FROM PUBLIC;

SELECT bkt_internal.link_auth();
