-- A complaint redirected to another body: the content re-encrypted, in the
-- redirecting member's session, to the new body's key and the
-- complainant's reply key. The new body reads this copy; the original
-- envelope stays as the terminal sealed it.
CREATE TABLE complaint_copies (
	complaint  INTEGER NOT NULL REFERENCES complaints (id),
	body       TEXT NOT NULL REFERENCES bodies (code),
	from_body  TEXT NOT NULL,
	ciphertext BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL,
	log_index  INTEGER NOT NULL,
	PRIMARY KEY (complaint, body)
);
