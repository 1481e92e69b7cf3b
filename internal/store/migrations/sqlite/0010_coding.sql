-- What a body coded after reading a complaint: kept in clear for the body
-- and for statistics. One row per (complaint, body), the latest coding.
CREATE TABLE complaint_codings (
	complaint     INTEGER NOT NULL REFERENCES complaints (id),
	body          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	category      TEXT NOT NULL,
	torture       BOOLEAN NOT NULL,
	imminent_risk BOOLEAN NOT NULL,
	zone          TEXT NOT NULL DEFAULT '',
	named         TEXT NOT NULL DEFAULT '',
	coded_by      TEXT NOT NULL,
	coded_at      TIMESTAMP NOT NULL,
	PRIMARY KEY (complaint, body)
);

-- Clearing a torture or ill-treatment flag needs a second member's
-- approval: the request waits here until another member of the body
-- approves it.
CREATE TABLE torture_flag_clearings (
	complaint    INTEGER NOT NULL REFERENCES complaints (id),
	body         TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	reason       TEXT NOT NULL,
	requested_at TIMESTAMP NOT NULL,
	approved_by  TEXT,
	approved_at  TIMESTAMP,
	PRIMARY KEY (complaint, body, requested_at)
);
