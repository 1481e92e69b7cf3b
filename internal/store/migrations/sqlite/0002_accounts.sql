-- Staff accounts, console sessions and the hash-chained audit log.
CREATE TABLE users (
	id                   INTEGER PRIMARY KEY,
	name                 TEXT NOT NULL UNIQUE,
	full_name            TEXT NOT NULL DEFAULT '',
	role                 TEXT NOT NULL,
	body                 TEXT REFERENCES bodies (code),
	facility             TEXT REFERENCES facilities (code),
	password_hash        TEXT NOT NULL,
	must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
	totp_secret          TEXT NOT NULL DEFAULT '',
	disabled             BOOLEAN NOT NULL DEFAULT FALSE,
	created_at           TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	stage      TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	last_seen  TIMESTAMP NOT NULL,
	addr       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
	seq       INTEGER PRIMARY KEY,
	at        TIMESTAMP NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	addr      TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, seq);

-- The head of the chain. Updating it in the appending transaction serialises
-- appends and lets verification notice records cut off the end.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
