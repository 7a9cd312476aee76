-- bkt-engine: per-item guess and slip, for concepts fitted with the item variant (multigs) or set by an admin.
--
-- An item uses its concept's prior, learn and forget with its own guess and slip. Rows are keyed by (concept, item,
-- version): `version` is the bkt_parameters.version they belong to, so every change of a concept's parameters (a
-- fit, a PUT of the concept or of its items) writes the concept row and its item rows in one transaction, and the
-- items in effect are those at the concept's current version. Rows of earlier versions stay, which is what history
-- rows (params_version, item_id, params_source) refer to.

CREATE TABLE public.bkt_item_parameters (
  concept_id  uuid NOT NULL REFERENCES public.bkt_parameters (concept_id) ON DELETE CASCADE,
  item_id     text NOT NULL CHECK (char_length(item_id) BETWEEN 1 AND 200),
  version     integer NOT NULL CHECK (version >= 1),
  p_g         double precision NOT NULL CHECK (p_g > 0 AND p_g < 1),
  p_s         double precision NOT NULL CHECK (p_s > 0 AND p_s < 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Leading (concept, version): the items in effect are one range of the key, paged by item.
  CONSTRAINT bkt_item_parameters_pkey PRIMARY KEY (concept_id, version, item_id)
);

-- A change made by hand in SQL reaches every instance's cache like a change of bkt_parameters.
CREATE TRIGGER bkt_item_parameters_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.bkt_item_parameters
  FOR EACH STATEMENT EXECUTE FUNCTION bkt_internal.bump_parameters_epoch();

-- The same rules as bkt_parameters: row level security with no policy, nothing granted to Supabase's API roles.
ALTER TABLE public.bkt_item_parameters ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    REVOKE ALL ON public.bkt_item_parameters FROM anon;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    REVOKE ALL ON public.bkt_item_parameters FROM authenticated;
  END IF;
END
$$;
