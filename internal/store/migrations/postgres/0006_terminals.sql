-- Terminal enrolment: one-time tokens an administrator hands to the person
-- installing a kiosk, and the Ed25519 public key each terminal enrolled
-- with. Tokens are stored as their SHA-256 only.
CREATE TABLE enrollment_tokens (
	id         TEXT PRIMARY KEY,
	device     TEXT NOT NULL REFERENCES devices (id),
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at    TIMESTAMPTZ
);
CREATE INDEX enrollment_tokens_device ON enrollment_tokens (device);

CREATE TABLE device_keys (
	device      TEXT PRIMARY KEY REFERENCES devices (id),
	public_key  BYTEA NOT NULL,
	enrolled_at TIMESTAMPTZ NOT NULL,
	revoked_at  TIMESTAMPTZ
);
