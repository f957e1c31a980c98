-- voiceproxy schema, version 2 (PostgreSQL): relay jobs, and what Vonage
-- reports of each call leg.

-- Messages accepted (answered 2xx to Vonage) and not yet sent. A job is
-- leased to one Service instance at a time (lease_owner until
-- lease_until) and deleted once sent or given up, in the transaction
-- that records its outcome.
CREATE TABLE vp_relays (
	id              text PRIMARY KEY REFERENCES vp_interactions (id),
	conversation_id text NOT NULL,
	from_number     text NOT NULL,
	to_number       text NOT NULL,
	body            text NOT NULL,
	attempts        integer NOT NULL,
	next_attempt    timestamptz NOT NULL,
	created_at      timestamptz NOT NULL,
	lease_owner     text NOT NULL DEFAULT '',
	lease_until     timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE INDEX vp_relays_due ON vp_relays (next_attempt);

ALTER TABLE vp_interaction_events
	ADD COLUMN direction text NOT NULL DEFAULT '',
	ADD COLUMN rate text NOT NULL DEFAULT '',
	ADD COLUMN network text NOT NULL DEFAULT '',
	ADD COLUMN disconnected_by text NOT NULL DEFAULT '',
	ADD COLUMN start_time timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
	ADD COLUMN end_time timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00';
