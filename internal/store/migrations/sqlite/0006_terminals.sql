-- Terminal enrolment: one-time tokens an administrator hands to the person
-- installing a kiosk, and the Ed25519 public key each terminal enrolled
-- with. Tokens are stored as their SHA-256 only.
CREATE TABLE enrollment_tokens (
	id         TEXT PRIMARY KEY,
	device     TEXT NOT NULL REFERENCES devices (id),
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	used_at    TIMESTAMP
);
CREATE INDEX enrollment_tokens_device ON enrollment_tokens (device);

CREATE TABLE device_keys (
	device      TEXT PRIMARY KEY REFERENCES devices (id),
	public_key  BLOB NOT NULL,
	enrolled_at TIMESTAMP NOT NULL,
	revoked_at  TIMESTAMP
);
