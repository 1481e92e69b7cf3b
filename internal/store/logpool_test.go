package store

import (
	"context"
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
