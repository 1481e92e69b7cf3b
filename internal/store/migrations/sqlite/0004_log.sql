-- The complaint log: a Merkle tree (RFC 6962, golang.org/x/mod/sumdb/tlog)
-- whose leaves commit to objects kept off the log. See internal/tlog.

-- Leaves in order. entry is the encoded entry whose RecordHash is the leaf
-- hash; idem is the caller's idempotency id.
CREATE TABLE log_leaves (
	idx        INTEGER PRIMARY KEY,
	kind       TEXT NOT NULL,
	entry      BLOB NOT NULL,
	idem       TEXT NOT NULL UNIQUE,
	created_at TIMESTAMP NOT NULL
);

-- Stored hashes of the tree, keyed by tlog.StoredHashIndex.
CREATE TABLE log_hashes (
	id   INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
);

-- Signed checkpoints, one per committed batch. A size has at most one.
CREATE TABLE log_checkpoints (
	size       INTEGER PRIMARY KEY,
	root       BLOB NOT NULL,
	note       TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);

-- The objects the leaves commit to, with their salts. Erasing sets salt and
-- object to NULL; the tree does not change.
CREATE TABLE log_objects (
	idx       INTEGER PRIMARY KEY REFERENCES log_leaves (idx),
	salt      BLOB,
	object    BLOB,
	erased_at TIMESTAMP
);

CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_hashes_no_update BEFORE UPDATE ON log_hashes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_hashes_no_delete BEFORE DELETE ON log_hashes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
