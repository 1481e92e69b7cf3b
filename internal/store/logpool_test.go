package store

import (
	"context"
	"path/filepath"
	"testing"

	"qorgau.kz/qorgau/internal/pgtest"
)

// TestLogPoolGenericPlans checks that on PostgreSQL the log's batches go
// through a pool whose sessions use generic plans, and that the store's
// other pool keeps the server's default.
func TestLogPoolGenericPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t)+"&application_name=qorgau-test")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode, app string
	if err := db.logw.QueryRowContext(ctx, `SELECT current_setting('plan_cache_mode'), current_setting('application_name')`).Scan(&mode, &app); err != nil {
		t.Fatal(err)
	}
	if mode != "force_generic_plan" || app != "qorgau-test" {
		t.Errorf("log pool: plan_cache_mode %q, application_name %q; want force_generic_plan, qorgau-test", mode, app)
	}
	if err := db.w.QueryRowContext(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "auto" {
		t.Errorf("main pool: plan_cache_mode %q, want auto", mode)
	}
	if p := db.Pools()["log"]; p != db.logw {
		t.Errorf("Pools() has no log pool")
	}
}

// TestWarm checks that Warm leaves the PostgreSQL pool with that many
// connections open and idle, that each answers, and that on SQLite it
// opens nothing.
func TestWarm(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Warm(ctx, 8); err != nil {
		t.Fatalf("Warm = %v", err)
	}
	if st := db.w.Stats(); st.OpenConnections < 8 || st.Idle < 8 || st.InUse != 0 {
		t.Errorf("after Warm(8): %d open, %d idle, %d in use; want at least 8 open and idle, none in use", st.OpenConnections, st.Idle, st.InUse)
	}
	var backends int
	if err := db.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&backends); err != nil {
		t.Fatal(err)
	}
	if backends < 8 {
		t.Errorf("PostgreSQL has %d backends for the database, want at least the 8 warmed", backends)
	}

	lite, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	before := lite.r.Stats().OpenConnections
	if err := lite.Warm(ctx, 8); err != nil || lite.r.Stats().OpenConnections != before {
		t.Errorf("Warm on SQLite = %v, %d read connections open (before: %d); want nil and no change", err, lite.r.Stats().OpenConnections, before)
	}
}
