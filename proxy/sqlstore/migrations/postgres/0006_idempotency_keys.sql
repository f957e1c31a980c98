-- voiceproxy schema, version 6 (PostgreSQL): idempotent create.
-- idem_key is the host's key for a conversation (a job or order ID), '' for
-- none. Among active-status conversations a key is unique; a holder whose
-- deadline passed is expired by the insert that wants its key.
ALTER TABLE vp_conversations ADD COLUMN idem_key text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX vp_conversations_idem_key ON vp_conversations (idem_key) WHERE idem_key <> '' AND status = 'active';
