-- Every change of a body's copy of a complaint, and every event that
-- leaves the state as it is (overdue, appealed), with the index of the
-- status leaf that records it in the complaint log.
CREATE TABLE complaint_events (
	complaint BIGINT NOT NULL REFERENCES complaints (id),
	body      TEXT NOT NULL,
	at        TIMESTAMPTZ NOT NULL,
	actor     TEXT NOT NULL,
	state     TEXT NOT NULL,
	event     TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	log_index BIGINT NOT NULL
);
CREATE INDEX complaint_events_complaint ON complaint_events (complaint, at);

-- Replies to the complainant, encrypted to the complainant's reply key and
-- the body's key: the server cannot read them.
CREATE TABLE complaint_replies (
	complaint  BIGINT NOT NULL REFERENCES complaints (id),
	body       TEXT NOT NULL,
	at         TIMESTAMPTZ NOT NULL,
	author     TEXT NOT NULL,
	ciphertext BYTEA NOT NULL,
	log_index  BIGINT NOT NULL
);
CREATE INDEX complaint_replies_complaint ON complaint_replies (complaint, at);

-- Days off besides weekends, and weekend days declared working days, that
-- the operator imports on top of the built-in calendar.
CREATE TABLE holidays (
	day     TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	working BOOLEAN NOT NULL DEFAULT FALSE
);
