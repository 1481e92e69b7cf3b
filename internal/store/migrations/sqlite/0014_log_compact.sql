-- The complaint log in fewer rows, so that a batch of appends writes less:
-- an entry's object and salt move into its leaf row (erasure still clears
-- them without touching the tree), and the stored hashes that a batch
-- makes, consecutive by tlog.StoredHashIndex, are kept together as runs.

DROP TRIGGER log_leaves_no_update;
ALTER TABLE log_leaves ADD COLUMN salt BLOB;
ALTER TABLE log_leaves ADD COLUMN object BLOB;
ALTER TABLE log_leaves ADD COLUMN erased_at TIMESTAMP;
UPDATE log_leaves SET
	salt = (SELECT o.salt FROM log_objects o WHERE o.idx = log_leaves.idx),
	object = (SELECT o.object FROM log_objects o WHERE o.idx = log_leaves.idx),
	erased_at = (SELECT o.erased_at FROM log_objects o WHERE o.idx = log_leaves.idx);
DROP TABLE log_objects;

-- A leaf never changes, except that erasing sets salt and object to NULL.
CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
WHEN NEW.idx IS NOT OLD.idx OR NEW.kind IS NOT OLD.kind OR NEW.entry IS NOT OLD.entry
	OR NEW.idem IS NOT OLD.idem OR NEW.created_at IS NOT OLD.created_at
	OR NEW.salt IS NOT NULL OR NEW.object IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'the log is append-only: an entry can only be erased'); END;

-- Stored hashes of the tree: hashes is the concatenation of the 32-byte
-- stored hashes with tlog.StoredHashIndex first_id, first_id+1, …
CREATE TABLE log_hash_runs (
	first_id INTEGER PRIMARY KEY,
	hashes   BLOB NOT NULL
);
INSERT INTO log_hash_runs (first_id, hashes) SELECT id, hash FROM log_hashes;
DROP TABLE log_hashes;

CREATE TRIGGER log_hash_runs_no_update BEFORE UPDATE ON log_hash_runs
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_hash_runs_no_delete BEFORE DELETE ON log_hash_runs
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
