-- voiceproxy schema, version 9 (PostgreSQL): the call reconciliation's index.
-- Every sweep of a Service with call control lists the calls created
-- within a window (a day, up to their time limit ago) that still have a
-- leg in progress, to ask the Voice API how they ended; this partial
-- index holds the calls alone, by creation, so the sweep reads the
-- window's calls and not the whole audit trail.
CREATE INDEX vp_interactions_calls ON vp_interactions (created_at, id) WHERE kind = 'call';
