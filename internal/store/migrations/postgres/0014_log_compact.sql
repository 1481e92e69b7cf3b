-- The complaint log in fewer rows, so that a batch of appends writes less:
-- an entry's object and salt move into its leaf row (erasure still clears
-- them without touching the tree), and the stored hashes that a batch
-- makes, consecutive by tlog.StoredHashIndex, are kept together as runs.

DROP TRIGGER log_leaves_no_change ON log_leaves;
ALTER TABLE log_leaves ADD COLUMN salt BYTEA, ADD COLUMN object BYTEA, ADD COLUMN erased_at TIMESTAMPTZ;
-- Objects are ciphertext: compressing them is wasted work.
ALTER TABLE log_leaves ALTER COLUMN object SET STORAGE EXTERNAL;
UPDATE log_leaves l SET salt = o.salt, object = o.object, erased_at = o.erased_at
FROM log_objects o WHERE o.idx = l.idx;
DROP TABLE log_objects;

-- A leaf never changes, except that erasing sets salt and object to NULL.
CREATE FUNCTION log_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.idx IS DISTINCT FROM OLD.idx OR NEW.kind IS DISTINCT FROM OLD.kind
		OR NEW.entry IS DISTINCT FROM OLD.entry OR NEW.idem IS DISTINCT FROM OLD.idem
		OR NEW.created_at IS DISTINCT FROM OLD.created_at
		OR NEW.salt IS NOT NULL OR NEW.object IS NOT NULL THEN
		RAISE EXCEPTION 'the log is append-only: an entry can only be erased';
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER log_leaves_no_change BEFORE DELETE OR TRUNCATE ON log_leaves
FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_leaves_erase_only BEFORE UPDATE ON log_leaves
FOR EACH ROW EXECUTE FUNCTION log_erase_only();

-- Stored hashes of the tree: hashes is the concatenation of the 32-byte
-- stored hashes with tlog.StoredHashIndex first_id, first_id+1, …
CREATE TABLE log_hash_runs (
	first_id BIGINT PRIMARY KEY,
	hashes   BYTEA NOT NULL
);
-- Hashes do not compress; EXTERNAL also lets substring read only the part
-- it needs.
ALTER TABLE log_hash_runs ALTER COLUMN hashes SET STORAGE EXTERNAL;
INSERT INTO log_hash_runs (first_id, hashes) SELECT id, hash FROM log_hashes;
DROP TABLE log_hashes;

CREATE TRIGGER log_hash_runs_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON log_hash_runs
FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
