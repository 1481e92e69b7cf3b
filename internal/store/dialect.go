package store

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"qorgau.kz/qorgau"
)

// dialect holds what differs between the engines. Everything else is the
// same SQL text.
type dialect struct {
	name string
	// migrations is the folder under migrations/ with this engine's files.
	migrations string
	// lockMigrations serialises concurrent Migrate calls of several servers.
	lockMigrations, unlockMigrations string
}

var (
	sqliteDialect   = dialect{name: "sqlite", migrations: "migrations/sqlite"}
	postgresDialect = dialect{
		name:             "postgres",
		migrations:       "migrations/postgres",
		lockMigrations:   `SELECT pg_advisory_lock(7162731)`,
		unlockMigrations: `SELECT pg_advisory_unlock(7162731)`,
	}
)

// walCheckpointPages is the WAL's length in pages that makes a commit
// checkpoint it (see sqliteDSN).
const walCheckpointPages = 8000

// sqliteDSN returns the modernc.org/sqlite connection string for path. The
// write pool begins transactions IMMEDIATE so that a read-then-write
// transaction never fails half-way on a lock upgrade.
//
// A new database gets 8 KiB pages: a commit writes each page to the WAL
// with two system calls, and a batch of log entries is mostly fresh pages,
// so larger pages cost the log's writer less (about a tenth of its CPU per
// row in a comparison of 4, 8, 16 and 64 KiB pages; larger ones gained no
// more and cost more on the indexes). The page size can only be set before
// the database is switched to WAL, which the driver's _pragma list would
// do first (it runs them sorted): hence _journal_mode, applied after the
// list. An existing database keeps its page size.
//
// The WAL is checkpointed into the database every 8,000 pages (64 MiB at
// 8 KiB) instead of SQLite's 1,000. The checkpoint runs in the commit that
// crosses the mark, on the one writer every submission waits for, and
// writes each page changed since the last one once, however often it
// changed. The random-key indexes (idempotency ids, lookup ids) change
// the same pages again and again, so a longer interval writes far fewer
// pages for the same complaints: under qorgau sim the server spent about
// 8 % less CPU per complaint and took about 8 % more complaints a second
// (4 interleaved runs each). The cost is a WAL file of up to about 64 MiB
// and a longer replay of it after a crash (well under a second).
func sqliteDSN(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "page_size(8192)")
	q.Set("_journal_mode", "WAL")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walCheckpointPages)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_time_format", "sqlite")
	if write {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// logPoolURL returns the PostgreSQL url for the pool that writes the
// complaint log: the same database, with plan_cache_mode set to
// force_generic_plan for its sessions. The log's batch statement takes its
// rows as arrays, whose length the planner cannot know; it then never
// trusts the generic plan and plans the statement again at every batch:
// at one entry a batch the server spent 380–470 µs of CPU on an append
// with custom plans, 210–310 µs with the generic one (a loaded machine). The setting is the pool's only, so that the rest of
// the store keeps PostgreSQL's own choice.
func logPoolURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("plan_cache_mode", "force_generic_plan")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// isUniqueViolation reports whether err is a unique or primary key conflict.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Aliases of the domain vocabulary, so store code reads short.
const (
	ENOTFOUND = qorgau.ENOTFOUND
	EINVALID  = qorgau.EINVALID
	ECONFLICT = qorgau.ECONFLICT
)

var qorgauErrorf = qorgau.Errorf

// isForeignKeyViolation reports whether err is a foreign key violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}
