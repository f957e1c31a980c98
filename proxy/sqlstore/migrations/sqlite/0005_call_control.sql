-- voiceproxy schema, version 5 (SQLite): call control.
-- A conversation records its calls when record is true (CreateRequest.Record,
-- else Config.Record at creation). An interaction keeps its call's region_url,
-- where the Voice API takes requests about that call ('' for the default).
ALTER TABLE vp_conversations ADD COLUMN record boolean NOT NULL DEFAULT false;
ALTER TABLE vp_interactions ADD COLUMN region text NOT NULL DEFAULT '';
