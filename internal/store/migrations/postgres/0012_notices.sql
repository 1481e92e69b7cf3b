-- Notices to the members of oversight bodies (qorgau.Notice): shown in the
-- console, sent by email and webhook. A notice never holds complaint
-- content or identity. key identifies the situation, so that the same
-- alert is stored, and sent, once.
CREATE TABLE notices (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key       TEXT NOT NULL UNIQUE,
	at        TIMESTAMPTZ NOT NULL,
	kind      TEXT NOT NULL,
	region    TEXT NOT NULL DEFAULT '',
	facility  TEXT NOT NULL DEFAULT '',
	device    TEXT NOT NULL DEFAULT '',
	complaint BIGINT,
	text      TEXT NOT NULL
);
CREATE INDEX notices_complaint ON notices (complaint, kind);

-- The bodies a notice is addressed to: their members see it.
CREATE TABLE notice_bodies (
	notice BIGINT NOT NULL REFERENCES notices (id),
	body   TEXT NOT NULL,
	PRIMARY KEY (notice, body)
);
CREATE INDEX notice_bodies_body ON notice_bodies (body, notice);

-- Who has read which notice.
CREATE TABLE notice_reads (
	notice  BIGINT NOT NULL REFERENCES notices (id),
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	read_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (notice, user_id)
);
CREATE INDEX notice_reads_user ON notice_reads (user_id, notice);

-- The email and webhook deliveries of a notice, written with it in one
-- transaction, so that a delivery owed when the server stops is retried
-- after it starts again. target is an email address or a body code.
CREATE TABLE notice_deliveries (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	notice     BIGINT NOT NULL REFERENCES notices (id),
	channel    TEXT NOT NULL,
	target     TEXT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    TIMESTAMPTZ NOT NULL,
	done_at    TIMESTAMPTZ,
	failed     BOOLEAN NOT NULL DEFAULT FALSE,
	last_error TEXT NOT NULL DEFAULT '',
	UNIQUE (notice, channel, target)
);
CREATE INDEX notice_deliveries_due ON notice_deliveries (done_at, next_at);

-- A staff account's address for notices by email; '' for none.
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- A body's webhook: notices to the body are POSTed to url, signed with
-- HMAC-SHA256 under secret (kept here because signing needs it).
CREATE TABLE body_webhooks (
	body       TEXT PRIMARY KEY REFERENCES bodies (code),
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

-- One-time codes that let a monitor file a marked test complaint at a
-- kiosk. Only the code's SHA-256 is kept. A used code names the
-- complaint's idempotency id, so a terminal's retry of the same envelope is
-- accepted and any other use is not.
CREATE TABLE monitor_tests (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code_hash  TEXT NOT NULL UNIQUE,
	created_by TEXT NOT NULL,
	body       TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at    TIMESTAMPTZ,
	device     TEXT NOT NULL DEFAULT '',
	idem       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX monitor_tests_creator ON monitor_tests (created_by, created_at);

-- The incident's time window as a body codes it after reading (issue 4's
-- coding); NULL where unknown.
ALTER TABLE complaint_codings ADD COLUMN incident_from TIMESTAMPTZ;
ALTER TABLE complaint_codings ADD COLUMN incident_to TIMESTAMPTZ;
