-- The complaint log: a Merkle tree (RFC 6962, golang.org/x/mod/sumdb/tlog)
-- whose leaves commit to objects kept off the log. See internal/tlog.

-- Leaves in order. entry is the encoded entry whose RecordHash is the leaf
-- hash; idem is the caller's idempotency id.
CREATE TABLE log_leaves (
	idx        BIGINT PRIMARY KEY,
	kind       TEXT NOT NULL,
	entry      BYTEA NOT NULL,
	idem       TEXT NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL
);

-- Stored hashes of the tree, keyed by tlog.StoredHashIndex.
CREATE TABLE log_hashes (
	id   BIGINT PRIMARY KEY,
	hash BYTEA NOT NULL
);

-- Signed checkpoints, one per committed batch. A size has at most one.
CREATE TABLE log_checkpoints (
	size       BIGINT PRIMARY KEY,
	root       BYTEA NOT NULL,
	note       TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

-- The objects the leaves commit to, with their salts. Erasing sets salt and
-- object to NULL; the tree does not change.
CREATE TABLE log_objects (
	idx       BIGINT PRIMARY KEY REFERENCES log_leaves (idx),
	salt      BYTEA,
	object    BYTEA,
	erased_at TIMESTAMPTZ
);

CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the log is append-only';
END;
$$;
CREATE TRIGGER log_leaves_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON log_leaves
FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_hashes_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON log_hashes
FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_checkpoints_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON log_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
