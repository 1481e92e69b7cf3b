-- Complaints as the inboxes see them. A complaint's id is the index of its
-- leaf in the complaint log; everything here can be rebuilt from the log's
-- objects, which is how a crash between the log's commit and these rows is
-- repaired on the next start.
CREATE TABLE complaints (
	id          INTEGER PRIMARY KEY,
	idem        TEXT NOT NULL UNIQUE,
	device      TEXT NOT NULL,
	facility    TEXT NOT NULL,
	region      TEXT NOT NULL,
	category    TEXT NOT NULL,
	urgent      BOOLEAN NOT NULL,
	test        BOOLEAN NOT NULL,
	lookup_id   TEXT NOT NULL,
	received_at TIMESTAMP NOT NULL
);
CREATE INDEX complaints_lookup ON complaints (lookup_id);
CREATE INDEX complaints_facility ON complaints (facility, received_at);

-- Each body's copy of a complaint, with its own state and clock.
CREATE TABLE complaint_bodies (
	complaint    INTEGER NOT NULL REFERENCES complaints (id),
	body         TEXT NOT NULL REFERENCES bodies (code),
	state        TEXT NOT NULL,
	delivered_at TIMESTAMP NOT NULL,
	due_at       TIMESTAMP NOT NULL,
	PRIMARY KEY (complaint, body)
);
CREATE INDEX complaint_bodies_inbox ON complaint_bodies (body, state, due_at);
