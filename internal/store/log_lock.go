package store

import (
	"context"
	"database/sql"
	"fmt"
)

// logLockKey is the PostgreSQL advisory lock key of the log's sequencer:
// "qorgau" and "log" in ASCII, so that it is unlikely to clash with
// another application's locks on a shared cluster.
const logLockKey int64 = 0x716f7267_6c6f67

// A LogLock is the session-level PostgreSQL advisory lock that makes one
// of several servers on a database the log's sequencer. It is held by a
// connection of its own: when that connection goes away, as when the
// process dies, PostgreSQL releases the lock and another server can take
// it. On SQLite, which has one server per file, TryLogLock always succeeds
// and the lock is a formality.
type LogLock struct {
	conn *sql.Conn // nil on SQLite
}

// TryLogLock takes the log's sequencer lock if it is free, and reports
// whether it did. It never waits for another holder.
func (db *DB) TryLogLock(ctx context.Context) (*LogLock, bool, error) {
	if db.dialect.name != "postgres" {
		return &LogLock{}, true, nil
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("log lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, logLockKey).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("log lock: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return &LogLock{conn: conn}, true, nil
}

// Check returns an error if the lock is no longer held: its connection
// broke, or its session lost the lock.
func (l *LogLock) Check(ctx context.Context) error {
	if l.conn == nil {
		return nil
	}
	var held bool
	err := l.conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
		AND granted AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1)`, logLockKey).Scan(&held)
	if err != nil {
		return fmt.Errorf("log lock: %w", err)
	}
	if !held {
		return fmt.Errorf("log lock: no longer held")
	}
	return nil
}

// Release gives the lock up and closes its connection.
func (l *LogLock) Release() error {
	if l.conn == nil {
		return nil
	}
	ctx := context.Background()
	_, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, logLockKey)
	if cerr := l.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
