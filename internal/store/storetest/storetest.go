// Package storetest runs tests against real databases: every test of a
// package that stores something runs once on SQLite and once on a throw-away
// PostgreSQL (see internal/pgtest).
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
)

// Engines runs f on a fresh, migrated SQLite database and on a fresh,
// migrated PostgreSQL database, as subtests "sqlite" and "postgres". url
// opens the same database again.
func Engines(t *testing.T, f func(t *testing.T, db *store.DB, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		url := filepath.Join(t.TempDir(), "qorgau.db")
		f(t, Open(t, url), url)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		f(t, Open(t, url), url)
	})
}

// Open opens and migrates the database at url, and closes it when the test
// ends.
func Open(t testing.TB, url string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open(%s) = %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate = %v", err)
	}
	return db
}
