// Package store keeps all of Qorgau's persistent state in one SQL database:
// SQLite (modernc.org/sqlite, pure Go) by default, PostgreSQL (pgx) at scale.
//
// Both engines run the same SQL, written with $N placeholders, which both
// accept; the few real differences live in dialect.go and in the per-engine
// migration files under migrations/. Migrations are numbered, forward-only
// and applied in one transaction each.
//
// SQLite runs in WAL mode with synchronous=FULL, so that a committed
// transaction survives a power cut, and with a single write connection, so
// that writers queue in Go rather than fail on SQLITE_BUSY.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"golang.org/x/sync/errgroup"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// DB is an open Qorgau database.
type DB struct {
	dialect dialect
	w       *sql.DB // the pool that writes (one connection on SQLite), but for logw
	r       *sql.DB // reads; the same pool as w on PostgreSQL
	// logw writes the complaint log's batches on PostgreSQL: one
	// connection whose prepared statements always use a generic plan (see
	// logPoolURL); nil on SQLite.
	logw *sql.DB
	url  string

	// Now returns the current time. Tests replace it.
	Now func() time.Time
}

// Open opens the database named by url and checks that it answers. url is
// either a postgres:// (or postgresql://) URL, or a path to a SQLite file,
// optionally prefixed with "sqlite:". Open does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	db := &DB{url: url, Now: time.Now}
	var err error
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db.dialect = postgresDialect
		if db.w, err = sql.Open("pgx", url); err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.w.SetMaxOpenConns(32)
		db.w.SetMaxIdleConns(32)
		db.w.SetConnMaxIdleTime(5 * time.Minute)
		db.r = db.w
		lurl, err := logPoolURL(url)
		if err != nil {
			db.w.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		if db.logw, err = sql.Open("pgx", lurl); err != nil {
			db.w.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.logw.SetMaxOpenConns(1)
		db.logw.SetMaxIdleConns(1)
		db.logw.SetConnMaxIdleTime(5 * time.Minute)
	default:
		db.dialect = sqliteDialect
		path := strings.TrimPrefix(url, "sqlite:")
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		if db.w, err = sql.Open("sqlite", sqliteDSN(path, true)); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.w.SetMaxOpenConns(1)
		db.w.SetMaxIdleConns(1)
		db.w.SetConnMaxLifetime(0)
		if db.r, err = sql.Open("sqlite", sqliteDSN(path, false)); err != nil {
			db.w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.r.SetMaxOpenConns(8)
		db.r.SetMaxIdleConns(8)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.dialect.name == "sqlite" {
		// The first write connection creates the file and switches it to WAL;
		// make sure that has happened before readers open it.
		var mode string
		if err := db.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite journal mode: %w", err)
		}
		if mode != "wal" {
			db.Close()
			return nil, fmt.Errorf("sqlite journal mode is %q, want wal", mode)
		}
	}
	return db, nil
}

// Warm opens up to n connections of the PostgreSQL pool at once and leaves
// them idle, so that the first burst of requests after a server starts
// does not wait for PostgreSQL to start a backend for each, one after the
// other: under qorgau sim that held every submission in flight for up to
// about 0.9 s, once, at the start. It does nothing on SQLite. Errors are
// those of opening a connection.
func (db *DB) Warm(ctx context.Context, n int) error {
	if db.dialect.name != "postgres" {
		return nil
	}
	conns := make([]*sql.Conn, n)
	var g errgroup.Group
	for i := range conns {
		g.Go(func() error {
			c, err := db.w.Conn(ctx)
			if err != nil {
				return err
			}
			conns[i] = c
			return c.PingContext(ctx)
		})
	}
	err := g.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close() // back to the pool, idle
		}
	}
	if err != nil {
		return fmt.Errorf("open database connections: %w", err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.w.Close()
	for _, p := range []*sql.DB{db.r, db.logw} {
		if p != nil && p != db.w {
			if perr := p.Close(); err == nil {
				err = perr
			}
		}
	}
	return err
}

// Engine returns "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.name }

// Pools returns the connection pools by name, for metrics.
func (db *DB) Pools() map[string]*sql.DB {
	if db.r == db.w {
		return map[string]*sql.DB{"main": db.w, "log": db.logw}
	}
	return map[string]*sql.DB{"write": db.w, "read": db.r}
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("database does not answer: %w", err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return fmt.Errorf("database does not answer: %w", err)
		}
	}
	return nil
}

// now returns the store's current time in UTC at microsecond precision, the
// precision both engines keep, so that a time read back equals the one
// written.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in one write transaction and commits it if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// notFound turns sql.ErrNoRows into an ENOTFOUND error about what.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return qorgauErrorf(ENOTFOUND, format, args...)
	}
	return err
}
