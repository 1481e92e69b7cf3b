-- Fleet watch: what the server learnt from terminals' and cameras'
-- heartbeats. The tracker keeps last-seen in memory; only changes of state
-- are written here, never every heartbeat.

-- device_states is each device's last known state, written when it goes
-- down or comes back, so that a restarted server resumes where it stopped.
CREATE TABLE device_states (
	device    TEXT PRIMARY KEY REFERENCES devices (id),
	up        BOOLEAN NOT NULL,
	since     TIMESTAMP NOT NULL,
	last_seen TIMESTAMP NOT NULL,
	boot      TEXT NOT NULL DEFAULT ''
);

-- outages are the silences of devices: open while ended_at is NULL.
CREATE TABLE outages (
	id         INTEGER PRIMARY KEY,
	device     TEXT NOT NULL REFERENCES devices (id),
	facility   TEXT NOT NULL REFERENCES facilities (code),
	started_at TIMESTAMP NOT NULL,
	ended_at   TIMESTAMP,
	cause      TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	required   BOOLEAN NOT NULL
);
CREATE INDEX outages_device ON outages (device, started_at);
CREATE INDEX outages_facility ON outages (facility, started_at);
CREATE UNIQUE INDEX outages_open ON outages (device) WHERE ended_at IS NULL;

-- terminal_journals hold terminals' hash-chained journals as uploaded.
CREATE TABLE terminal_journals (
	device TEXT NOT NULL REFERENCES devices (id),
	seq    INTEGER NOT NULL,
	at     TIMESTAMP NOT NULL,
	boot   TEXT NOT NULL,
	kind   TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev   TEXT NOT NULL,
	hash   TEXT NOT NULL,
	PRIMARY KEY (device, seq)
);

-- usage_counters are the kiosks' anonymous step counters per day.
CREATE TABLE usage_counters (
	device    TEXT NOT NULL REFERENCES devices (id),
	day       TEXT NOT NULL,
	step      TEXT NOT NULL,
	reached   INTEGER NOT NULL,
	abandoned INTEGER NOT NULL,
	PRIMARY KEY (device, day, step)
);

-- camera_sources are the VMS and pollers that report cameras in batches,
-- each with a bearer token stored as its SHA-256 only.
CREATE TABLE camera_sources (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	token_hash TEXT NOT NULL UNIQUE,
	region     TEXT REFERENCES regions (code),
	facility   TEXT REFERENCES facilities (code),
	created_at TIMESTAMP NOT NULL,
	revoked_at TIMESTAMP
);

-- maintenance_windows are declared in advance by a facility's liaison.
CREATE TABLE maintenance_windows (
	id          INTEGER PRIMARY KEY,
	facility    TEXT NOT NULL REFERENCES facilities (code),
	device      TEXT REFERENCES devices (id),
	starts_at   TIMESTAMP NOT NULL,
	ends_at     TIMESTAMP NOT NULL,
	reason      TEXT NOT NULL,
	declared_by TEXT NOT NULL,
	declared_at TIMESTAMP NOT NULL
);
CREATE INDEX maintenance_facility ON maintenance_windows (facility, starts_at);

-- fleet_alarms are what must not happen: a broken journal chain, a log
-- rollback seen by a terminal, an opened case.
CREATE TABLE fleet_alarms (
	id       INTEGER PRIMARY KEY,
	at       TIMESTAMP NOT NULL,
	device   TEXT NOT NULL REFERENCES devices (id),
	facility TEXT NOT NULL REFERENCES facilities (code),
	kind     TEXT NOT NULL,
	detail   TEXT NOT NULL
);
CREATE INDEX fleet_alarms_facility ON fleet_alarms (facility, at);
