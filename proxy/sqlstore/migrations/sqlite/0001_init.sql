-- voiceproxy schema, version 1 (SQLite).
-- Times are integer Unix nanoseconds (UTC); the zero Go time is -9223372036854775808.


-- The pool. Removed numbers stay (in_pool = FALSE) so active_legs, the
-- maintained count of active legs on the number, stays right while
-- conversations already using it run out.
CREATE TABLE vp_numbers (
	msisdn      text PRIMARY KEY,
	country     text NOT NULL,
	voice       integer NOT NULL,
	sms         integer NOT NULL,
	in_pool     integer NOT NULL,
	pool_order  integer NOT NULL,
	active_legs integer NOT NULL DEFAULT 0
);
CREATE INDEX vp_numbers_pool ON vp_numbers (pool_order) WHERE in_pool;

-- deadline = min(expires_at, last_activity_at + idle timeout), kept by
-- Touch, so "in use at t" is status = 'active' AND deadline > t.
CREATE TABLE vp_conversations (
	id               text PRIMARY KEY,
	status           text NOT NULL CHECK (status IN ('active', 'closed', 'expired')),
	mode             text NOT NULL,
	a_number         text NOT NULL,
	a_proxy          text NOT NULL,
	a_label          text NOT NULL,
	b_number         text NOT NULL,
	b_proxy          text NOT NULL,
	b_label          text NOT NULL,
	metadata         text NOT NULL,
	created_at       integer NOT NULL,
	expires_at       integer NOT NULL,
	idle_timeout_ns  integer NOT NULL,
	last_activity_at integer NOT NULL,
	ended_at         integer NOT NULL,
	deadline         integer NOT NULL
);
CREATE INDEX vp_conversations_due ON vp_conversations (deadline) WHERE status = 'active';

-- One row per side of a conversation. The partial unique index is the leg
-- invariant: among active legs, (participant, proxy_number) is unique.
CREATE TABLE vp_legs (
	conversation_id text NOT NULL REFERENCES vp_conversations (id),
	side            integer NOT NULL,
	participant     text NOT NULL,
	proxy_number    text NOT NULL,
	counterpart     text NOT NULL,
	created_at      integer NOT NULL,
	active          integer NOT NULL,
	released_at     integer NOT NULL,
	PRIMARY KEY (conversation_id, side)
);
CREATE UNIQUE INDEX vp_legs_active ON vp_legs (participant, proxy_number) WHERE active;
CREATE INDEX vp_legs_history ON vp_legs (participant, proxy_number, released_at);
CREATE INDEX vp_legs_sticky ON vp_legs (participant, counterpart, created_at);

CREATE TABLE vp_interactions (
	id              text PRIMARY KEY,
	conversation_id text NOT NULL REFERENCES vp_conversations (id),
	kind            text NOT NULL,
	external_id     text NOT NULL,
	from_number     text NOT NULL,
	to_number       text NOT NULL,
	body            text NOT NULL,
	created_at      integer NOT NULL
);
-- Vonage's IDs are unique per kind; an interaction without one is not.
CREATE UNIQUE INDEX vp_interactions_external ON vp_interactions (kind, external_id) WHERE external_id <> '';
CREATE INDEX vp_interactions_conversation ON vp_interactions (conversation_id, created_at, id);

CREATE TABLE vp_interaction_events (
	seq            integer PRIMARY KEY,
	interaction_id text NOT NULL REFERENCES vp_interactions (id),
	leg            text NOT NULL,
	status         text NOT NULL,
	at             integer NOT NULL,
	duration       integer NOT NULL,
	price          text NOT NULL,
	detail         text NOT NULL,
	UNIQUE (interaction_id, leg, status)
);

CREATE TABLE vp_message_parts (
	from_number text NOT NULL,
	to_number   text NOT NULL,
	ref         text NOT NULL,
	part        integer NOT NULL,
	total       integer NOT NULL,
	message_id  text NOT NULL,
	body        text NOT NULL,
	received_at integer NOT NULL,
	PRIMARY KEY (from_number, to_number, ref, part)
);

CREATE TABLE vp_nonces (
	key        text PRIMARY KEY,
	expires_at integer NOT NULL
);
CREATE INDEX vp_nonces_expires ON vp_nonces (expires_at);
