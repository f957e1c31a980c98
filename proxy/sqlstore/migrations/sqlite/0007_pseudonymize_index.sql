-- voiceproxy schema, version 7 (SQLite): the retention sweep's index.
-- Every sweep asks for the ended conversations not pseudonymized yet that
-- ended before the retention cutoff; this partial index holds just those,
-- by end, so the sweep reads the ones due, oldest first, and not the whole
-- history.
CREATE INDEX vp_conversations_to_pseudonymize ON vp_conversations (ended_at, id)
	WHERE status <> 'active' AND substr(a_number, 1, 5) <> 'anon-';
