package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"qorgau.kz/qorgau/internal/pgtest"
)

// TestLogCompactMigration moves a log written with the tables of 0004 (a
// row per object and per stored hash) into leaf rows and hash runs.
func TestLogCompactMigration(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			// The schema just before the migration.
			db := dbBefore(t, engine, "log_compact")

			// Three leaves, the second erased, and their six hashes.
			at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			hash := func(id int) []byte { h := sha256.Sum256([]byte(fmt.Sprint(id))); return h[:] }
			for i := 0; i < 3; i++ {
				_, err := db.w.ExecContext(ctx, `INSERT INTO log_leaves (idx, kind, entry, idem, created_at) VALUES ($1, 'complaint', $2, $3, $4)`,
					i, []byte(fmt.Sprintf("entry %d", i)), fmt.Sprintf("id-%d", i), at)
				if err != nil {
					t.Fatal(err)
				}
				salt, object, erased := bytes.Repeat([]byte{byte(i + 1)}, 32), []byte(fmt.Sprintf("object %d", i)), any(nil)
				if i == 1 {
					salt, object, erased = nil, nil, at
				}
				if _, err := db.w.ExecContext(ctx, `INSERT INTO log_objects (idx, salt, object, erased_at) VALUES ($1, $2, $3, $4)`, i, salt, object, erased); err != nil {
					t.Fatal(err)
				}
				for _, id := range []int{2 * i, 2*i + 1} {
					if _, err := db.w.ExecContext(ctx, `INSERT INTO log_hashes (id, hash) VALUES ($1, $2)`, id, hash(id)); err != nil {
						t.Fatal(err)
					}
				}
			}

			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate = %v", err)
			}
			l, err := db.LogLeaf(ctx, 0)
			if err != nil || string(l.Entry) != "entry 0" || l.IdempotencyID != "id-0" || string(l.Object) != "object 0" || !bytes.Equal(l.Salt, bytes.Repeat([]byte{1}, 32)) {
				t.Errorf("LogLeaf(0) = %+v, %v", l, err)
			}
			if l, err := db.LogLeaf(ctx, 1); err != nil || l.Salt != nil || l.Object != nil {
				t.Errorf("LogLeaf(erased 1) = %+v, %v", l, err)
			}
			hs, err := db.LogHashes(ctx, []int64{5, 0, 3})
			if err != nil || !bytes.Equal(hs[0][:], hash(5)) || !bytes.Equal(hs[1][:], hash(0)) || !bytes.Equal(hs[2][:], hash(3)) {
				t.Errorf("LogHashes = %x, %v", hs, err)
			}
			if leaves, hashes, _, err := db.LogCounts(ctx); err != nil || leaves != 3 || hashes != 6 {
				t.Errorf("LogCounts = %d leaves, %d hashes, %v; want 3 and 6", leaves, hashes, err)
			}
			if err := db.EraseLogObject(ctx, 2, nil); err != nil {
				t.Errorf("EraseLogObject after the migration = %v", err)
			}
			if _, err := db.w.ExecContext(ctx, `UPDATE log_leaves SET entry = entry WHERE idx = 0`); err == nil {
				t.Error("a leaf's entry can be changed after the migration")
			}
		})
	}
}

// dbBefore opens a new database of the engine ("sqlite" or "postgres",
// a throw-away one) with the schema just before the migration called
// name, recorded as applied, so that a test can write rows in the old
// shape and then run Migrate. It is closed at the test's end.
func dbBefore(t *testing.T, engine, name string) *DB {
	t.Helper()
	ctx := context.Background()
	url := filepath.Join(t.TempDir(), "qorgau.db")
	if engine == "postgres" {
		url = pgtest.NewDatabase(t)
	}
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	list, err := db.dialect.migrationList()
	if err != nil {
		t.Fatal(err)
	}
	k := slices.IndexFunc(list, func(m Migration) bool { return m.Name == name })
	if k < 0 {
		t.Fatalf("no %s migration", name)
	}
	if _, err := db.w.ExecContext(ctx, createMigrationsTable); err != nil {
		t.Fatal(err)
	}
	for _, m := range list[:k] {
		if _, err := db.w.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("%04d_%s: %v", m.Version, m.Name, err)
		}
		if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, m.Name, "2026-01-01T00:00:00Z"); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
