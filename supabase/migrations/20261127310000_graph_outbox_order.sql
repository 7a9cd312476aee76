-- bkt-engine graph projection: one index fewer on the outbox (see docs/graph.md, "Benchmark").
--
-- While the relay keeps up, every answer inserts its pair's outbox row afresh (the relay deleted the previous one), so
-- each index on graph_outbox costs an insert per answer. The relay reads the oldest rows first; seq, the identity
-- assigned when a row is inserted and kept when it is updated, orders rows exactly as their first queueing does, so
-- the primary key serves that read and the separate (enqueued_at, seq) index is dropped.
DROP INDEX bkt_internal.graph_outbox_oldest;
