-- Keys of the recipient bodies and their members (see internal/seal).
-- Nothing here is a private key in clear: member keys are wrapped by the
-- member's passphrase, body keys by each member's public key.

-- One age X25519 keypair per staff member.
CREATE TABLE member_keys (
	user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	recipient  TEXT NOT NULL UNIQUE,
	wrapped    BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);

-- Every version of every body's key, public half only. The current version
-- of a body is the one not retired; there is at most one.
CREATE TABLE body_keys (
	body       TEXT NOT NULL REFERENCES bodies (code),
	version    INTEGER NOT NULL CHECK (version > 0),
	key_id     TEXT NOT NULL UNIQUE,
	recipient  TEXT NOT NULL UNIQUE,
	created_at TIMESTAMP NOT NULL,
	retired_at TIMESTAMP,
	PRIMARY KEY (body, version)
);
CREATE UNIQUE INDEX body_keys_current ON body_keys (body) WHERE retired_at IS NULL;

-- A body key version encrypted to one member's key. Holding a wrap of the
-- current version is what makes a member a key holder of the body.
CREATE TABLE body_key_wraps (
	body       TEXT NOT NULL,
	version    INTEGER NOT NULL,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	wrapped    BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (body, version, user_id),
	FOREIGN KEY (body, version) REFERENCES body_keys (body, version)
);
CREATE INDEX body_key_wraps_user ON body_key_wraps (user_id);
