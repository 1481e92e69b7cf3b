-- A complaint redirected to another body: the content re-encrypted, in the
-- redirecting member's session, to the new body's key and the
-- complainant's reply key. The new body reads this copy; the original
-- envelope stays as the terminal sealed it.
CREATE TABLE complaint_copies (
	complaint  BIGINT NOT NULL REFERENCES complaints (id),
	body       TEXT NOT NULL REFERENCES bodies (code),
	from_body  TEXT NOT NULL,
	ciphertext BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	log_index  BIGINT NOT NULL,
	PRIMARY KEY (complaint, body)
);
