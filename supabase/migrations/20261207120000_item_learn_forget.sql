-- bkt-engine: per-item learn and forget, for concepts fitted with the item variant of learn (multilearn).
--
-- An item may now carry its own guess and slip (multigs), its own learn and forget (multilearn), or both. A NULL
-- value is the concept's: an answer to the item uses the concept's parameters with the item's non-NULL values put in
-- their place. As in the core's variant trace, an item's learn and forget are the transition after an answer to it.
-- Guess and slip are one emission and are given together or not at all; learn and forget each stand alone (a PUT may
-- give an item's learn and leave forget to the concept). A row carries at least one value.
--
-- The columns take the names of bkt_parameters (p_t: learn, p_f: forget). Existing rows keep their guess and slip
-- and get NULL learn and forget, which is what they meant. Row level security and the revoked grants are the
-- table's and cover the new columns (column privileges are only ever granted explicitly, and nothing is).

ALTER TABLE public.bkt_item_parameters
  ALTER COLUMN p_g DROP NOT NULL,
  ALTER COLUMN p_s DROP NOT NULL,
  ADD COLUMN p_t double precision CONSTRAINT bkt_item_parameters_p_t_range CHECK (p_t >= 0 AND p_t <= 1),
  ADD COLUMN p_f double precision CONSTRAINT bkt_item_parameters_p_f_range CHECK (p_f >= 0 AND p_f <= 1),
  ADD CONSTRAINT bkt_item_parameters_guess_slip_together CHECK ((p_g IS NULL) = (p_s IS NULL)),
  ADD CONSTRAINT bkt_item_parameters_some_value CHECK (p_g IS NOT NULL OR p_t IS NOT NULL OR p_f IS NOT NULL);
