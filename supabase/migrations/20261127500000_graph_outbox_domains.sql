-- bkt-engine graph projection: the outbox's single-column rules as domains instead of table CHECK constraints (see
-- docs/graph.md, "Benchmark").
--
-- PostgreSQL keeps a table's CHECK constraints in the catalog as text and, for every INSERT or UPDATE statement it
-- executes, reads each of them back into an expression tree and plans it again: a kept plan does not keep them. For a
-- single-row write, that is most of the statement's work (a profile of the service under load put all tables' CHECK
-- constraints at 14-16% of the PostgreSQL backends' CPU). A domain's rules are read and planned once per connection and
-- kept with the type. The rules are the same; only where PostgreSQL keeps them changes. The rule that ties columns
-- together (graph_outbox_shape) cannot be a domain and stays a table constraint.
--
-- The outbox holds only what is waiting for the graph, so rewriting it here is quick even after a long outage.

CREATE DOMAIN bkt_internal.graph_outbox_kind AS text
  CONSTRAINT graph_outbox_kind_rule CHECK (VALUE IN ('mastery', 'removal'));
CREATE DOMAIN bkt_internal.probability AS double precision
  CONSTRAINT probability_rule CHECK (VALUE BETWEEN 0 AND 1);
CREATE DOMAIN bkt_internal.graph_version AS bigint
  CONSTRAINT graph_version_rule CHECK (VALUE >= 1);

ALTER TABLE bkt_internal.graph_outbox
  DROP CONSTRAINT graph_outbox_kind_check,
  DROP CONSTRAINT graph_outbox_level_check,
  DROP CONSTRAINT graph_outbox_version_check,
  ALTER COLUMN kind TYPE bkt_internal.graph_outbox_kind,
  ALTER COLUMN level TYPE bkt_internal.probability,
  ALTER COLUMN version TYPE bkt_internal.graph_version;

-- The relay's read returns plain types, as before (a function's declared result types must match exactly).
CREATE OR REPLACE FUNCTION bkt_internal.graph_outbox_next(a_limit integer)
RETURNS TABLE (kind text, student_id text, concept_id text, level double precision, mastered boolean,
  version text, updated_at text, enqueued_at timestamptz)
LANGUAGE plpgsql STABLE SET search_path = '' SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY
  SELECT o.kind::text, o.student_id::text, o.concept_id::text, o.level::double precision, o.mastered,
    o.version::text, pg_catalog.to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), o.enqueued_at
  FROM bkt_internal.graph_outbox o
  ORDER BY o.seq
  LIMIT a_limit;
END
$$;
