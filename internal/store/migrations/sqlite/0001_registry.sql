-- The registry of places of detention, their zones and devices, and the
-- bodies that receive complaints.
CREATE TABLE regions (
	code    TEXT PRIMARY KEY,
	name_kk TEXT NOT NULL,
	name_ru TEXT NOT NULL,
	name_en TEXT NOT NULL
);

CREATE TABLE facilities (
	code       TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	region     TEXT NOT NULL REFERENCES regions (code),
	type       TEXT NOT NULL,
	authority  TEXT NOT NULL,
	capacity   INTEGER NOT NULL CHECK (capacity >= 0),
	population INTEGER NOT NULL CHECK (population >= 0)
);
CREATE INDEX facilities_region ON facilities (region);

CREATE TABLE zones (
	facility TEXT NOT NULL REFERENCES facilities (code),
	code     TEXT NOT NULL,
	name     TEXT NOT NULL,
	kind     TEXT NOT NULL,
	PRIMARY KEY (facility, code)
);

CREATE TABLE bodies (
	code    TEXT PRIMARY KEY,
	kind    TEXT NOT NULL,
	region  TEXT REFERENCES regions (code),
	name_kk TEXT NOT NULL,
	name_ru TEXT NOT NULL,
	name_en TEXT NOT NULL
);

CREATE TABLE devices (
	id               TEXT PRIMARY KEY,
	kind             TEXT NOT NULL,
	facility         TEXT NOT NULL REFERENCES facilities (code),
	zone             TEXT,
	interval_seconds INTEGER NOT NULL CHECK (interval_seconds > 0),
	required_hours   TEXT NOT NULL,
	FOREIGN KEY (facility, zone) REFERENCES zones (facility, code)
);
CREATE INDEX devices_facility ON devices (facility, kind);
