-- bkt-engine fit jobs: EM fits of stored history run by the service, their progress and per-concept results.
--
-- Jobs are internal (schema bkt_internal, never exposed by Supabase's REST API). At most one job is queued or running
-- at a time, enforced by a unique partial index so that two instances cannot both start one. A running job's owner
-- refreshes heartbeat_at; a job whose heartbeat stopped (its process died) is marked interrupted by the next start.

CREATE TABLE bkt_internal.fit_jobs (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  status       text NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'running', 'done', 'failed', 'interrupted')),
  -- The request as validated (concept_ids, restarts, bounds, fix, forget, min_responses, apply_degenerate, replay...).
  options      jsonb NOT NULL,
  -- {phase, rows_read, rows_total, units_done, units_total, pairs_replayed, pairs_total}
  progress     jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Per concept: parameters, log-likelihood, iterations, converged, flags, and whether (and why not) applied.
  results      jsonb,
  error        text,
  -- Which process runs the job (host, pid and a random instance id), for operators reading the table.
  owner        text NOT NULL,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz
);

CREATE UNIQUE INDEX fit_jobs_one_active ON bkt_internal.fit_jobs ((true)) WHERE status IN ('queued', 'running');
CREATE INDEX fit_jobs_created ON bkt_internal.fit_jobs (created_at DESC);

-- A fit reads history concept by concept in keyset pages ordered by (concept, student, seq); an index-only scan with
-- the answer included keeps each page cheap.
CREATE INDEX idx_mastery_history_concept_student_seq
  ON public.mastery_history (concept_id, student_id, seq) INCLUDE (response_correct);

-- A replay walks a concept's pairs in student order.
CREATE INDEX idx_student_mastery_concept_student ON public.student_mastery (concept_id, student_id);
