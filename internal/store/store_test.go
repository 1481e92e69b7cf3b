package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

func TestMigrate(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after Migrate = %v, want nil", err)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", again, err)
		}
		regions, err := db.Regions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(regions) != 20 {
			t.Errorf("default regions = %d, want Kazakhstan's 20", len(regions))
		}
	})
}

func TestMigrateFresh(t *testing.T) {
	ctx := context.Background()
	url := filepath.Join(t.TempDir(), "q.db")
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err == nil {
		t.Fatal("CheckSchema on an empty database = nil, want an error")
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) < 3 || applied[0].Version != 1 {
		t.Fatalf("Migrate applied %v, want every migration from 1", applied)
	}
}

func seedRegistry(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.SaveFacilities(ctx, []qorgau.Facility{
		{Code: "EC-166-1", Name: "Colony 1", Region: "KZ-35", Type: qorgau.ColonyMedium, Authority: "Penal system committee", Capacity: 1200, Population: 980},
		{Code: "SIZO-1", Name: "Pre-trial centre 1", Region: "KZ-71", Type: qorgau.PretrialCentre, Authority: "Penal system committee", Capacity: 600, Population: 540},
	}, nil); err != nil {
		t.Fatalf("SaveFacilities = %v", err)
	}
	if err := db.SaveZones(ctx, []qorgau.Zone{
		{Facility: "EC-166-1", Code: "B1", Name: "Block 1", Kind: qorgau.ZoneCellBlock},
		{Facility: "EC-166-1", Code: "MED", Name: "Medical unit", Kind: qorgau.ZoneMedicalUnit},
		{Facility: "SIZO-1", Code: "C1", Name: "Corridor 1", Kind: qorgau.ZoneCorridor},
	}, nil); err != nil {
		t.Fatalf("SaveZones = %v", err)
	}
	sch, _ := qorgau.ParseSchedule("08:00-20:00")
	if err := db.SaveDevices(ctx, []qorgau.Device{
		{ID: "T-1", Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Zone: "B1", Interval: 60, Required: sch},
		{ID: "C-1", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Zone: "MED", Interval: 30},
		{ID: "C-2", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Interval: 30},
		{ID: "C-3", Kind: qorgau.DeviceCamera, Facility: "SIZO-1", Zone: "C1", Interval: 30},
	}, nil); err != nil {
		t.Fatalf("SaveDevices = %v", err)
	}
}

func TestRegistry(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)

		sums, err := db.FacilitySummaries(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 2 {
			t.Fatalf("FacilitySummaries = %d facilities, want 2", len(sums))
		}
		got := map[string][3]int{}
		for _, s := range sums {
			got[s.Code] = [3]int{s.Zones, s.Terminals, s.Cameras}
		}
		if want := [3]int{2, 1, 2}; got["EC-166-1"] != want {
			t.Errorf("EC-166-1 zones/terminals/cameras = %v, want %v", got["EC-166-1"], want)
		}
		if want := [3]int{1, 0, 1}; got["SIZO-1"] != want {
			t.Errorf("SIZO-1 zones/terminals/cameras = %v, want %v", got["SIZO-1"], want)
		}

		devs, total, err := db.Devices(ctx, qorgau.DeviceFilter{Facility: "EC-166-1", Kind: qorgau.DeviceCamera})
		if err != nil {
			t.Fatal(err)
		}
		if total != 2 || len(devs) != 2 || devs[0].ID != "C-1" || devs[1].Zone != "" {
			t.Errorf("cameras of EC-166-1 = %+v (total %d), want C-1 and C-2 without zone", devs, total)
		}
		devs, total, err = db.Devices(ctx, qorgau.DeviceFilter{Region: "KZ-71"})
		if err != nil || total != 1 || devs[0].ID != "C-3" {
			t.Errorf("devices of KZ-71 = %+v, %d, %v; want C-3", devs, total, err)
		}
		devs, _, err = db.Devices(ctx, qorgau.DeviceFilter{Query: "T-"})
		if err != nil || len(devs) != 1 || devs[0].Required.String() != "08:00-20:00" {
			t.Errorf("device T-1 = %+v, %v; want required hours 08:00-20:00", devs, err)
		}
		devs, total, err = db.Devices(ctx, qorgau.DeviceFilter{Limit: 2, Offset: 2})
		if err != nil || total != 4 || len(devs) != 2 || devs[0].ID != "C-3" {
			t.Errorf("page 2 of devices = %+v, %d, %v; want C-3, T-1 of 4", devs, total, err)
		}

		// Updating in place: same key, new values.
		if err := db.SaveFacilities(ctx, []qorgau.Facility{{Code: "SIZO-1", Name: "Renamed", Region: "KZ-71", Type: qorgau.PretrialCentre, Authority: "x", Capacity: 1, Population: 2}}, nil); err != nil {
			t.Fatal(err)
		}
		f, err := db.Facility(ctx, "SIZO-1")
		if err != nil || f.Name != "Renamed" || f.Population != 2 {
			t.Errorf("Facility after update = %+v, %v", f, err)
		}
		if _, err := db.Facility(ctx, "nope"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("Facility(nope) error code = %q, want ENOTFOUND", qorgau.ErrorCode(err))
		}

		// A device in a zone that does not exist violates the foreign key and
		// leaves nothing behind.
		err = db.SaveDevices(ctx, []qorgau.Device{
			{ID: "C-9", Kind: qorgau.DeviceCamera, Facility: "SIZO-1", Zone: "C1", Interval: 30},
			{ID: "C-10", Kind: qorgau.DeviceCamera, Facility: "SIZO-1", Zone: "NOPE", Interval: 30},
		}, nil)
		if err == nil {
			t.Fatal("SaveDevices with an unknown zone = nil, want an error")
		}
		if _, total, _ := db.Devices(ctx, qorgau.DeviceFilter{}); total != 4 {
			t.Errorf("devices after a failed save = %d, want 4 (all or nothing)", total)
		}
	})
}

func TestUsersAndSessions(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		if err := db.SaveBodies(ctx, []qorgau.Body{{Code: "PROS-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "a", NameRU: "b", NameEN: "c"}}, nil); err != nil {
			t.Fatal(err)
		}
		u := &qorgau.User{Name: "aigerim", Role: qorgau.RoleMember, Body: "PROS-35", PasswordHash: "x"}
		if err := db.CreateUser(ctx, u, &qorgau.AuditRecord{Actor: "test", Action: qorgau.AuditUserAdded, Target: "aigerim"}); err != nil {
			t.Fatalf("CreateUser = %v", err)
		}
		if u.ID == 0 {
			t.Fatal("CreateUser did not set ID")
		}
		dup := &qorgau.User{Name: "aigerim", Role: qorgau.RoleAdmin, PasswordHash: "x"}
		if err := db.CreateUser(ctx, dup, nil); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("CreateUser(duplicate) = %v, want ECONFLICT", err)
		}
		bad := &qorgau.User{Name: "x", Role: qorgau.RoleLiaison, Facility: "NOPE", PasswordHash: "x"}
		if err := db.CreateUser(ctx, bad, nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("CreateUser(unknown facility) = %v, want EINVALID", err)
		}

		s := &qorgau.Session{ID: "abc", UserID: u.ID, Stage: qorgau.StagePassword, Addr: "127.0.0.1"}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchSession(ctx, "abc", qorgau.StageFull); err != nil {
			t.Fatal(err)
		}
		gs, gu, err := db.Session(ctx, "abc")
		if err != nil || gs.Stage != qorgau.StageFull || gu.Name != "aigerim" || gu.Body != "PROS-35" {
			t.Fatalf("Session = %+v, %+v, %v", gs, gu, err)
		}
		u.Disabled = true
		if err := db.UpdateUser(ctx, u, true, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Session(ctx, "abc"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("Session after disabling the user = %v, want ENOTFOUND", err)
		}

		if err := db.CreateSession(ctx, &qorgau.Session{ID: "old", UserID: u.ID, Stage: qorgau.StageFull}); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteIdleSessions(ctx, time.Now().Add(time.Minute), time.Now().Add(-time.Hour))
		if err != nil || n != 1 {
			t.Errorf("DeleteIdleSessions = %d, %v; want 1", n, err)
		}
	})
}

func TestAuditChain(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		for i, a := range []string{qorgau.AuditLogin, qorgau.AuditLoginFailed, qorgau.AuditImport, qorgau.AuditLogout} {
			rec := &qorgau.AuditRecord{Actor: "aigerim", Action: a, Target: "t", Detail: "d", Addr: "127.0.0.1"}
			if err := db.AppendAudit(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if rec.Seq != int64(i+1) {
				t.Fatalf("record %d got Seq %d", i+1, rec.Seq)
			}
		}
		n, err := db.VerifyAudit(ctx, nil)
		if err != nil || n != 4 {
			t.Fatalf("VerifyAudit on an intact log = %d, %v; want 4, nil", n, err)
		}
		list, err := db.AuditRecords(ctx, qorgau.AuditFilter{Action: qorgau.AuditLoginFailed})
		if err != nil || len(list) != 1 || list[0].Seq != 2 {
			t.Fatalf("AuditRecords(login.failed) = %+v, %v", list, err)
		}

		// The engine refuses changes to the log.
		raw, err := sql.Open(driverOf(url), url)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.ExecContext(ctx, `UPDATE audit_log SET actor = 'someone' WHERE seq = 2`); err == nil {
			t.Fatal("UPDATE audit_log succeeded, want the append-only trigger to refuse it")
		}

		// Someone with the database's owner rights removes the guard and
		// rewrites record 3: verification names record 3.
		dropGuards(t, raw, url)
		if _, err := raw.ExecContext(ctx, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		_, err = db.VerifyAudit(ctx, nil)
		var brk *store.AuditBreak
		if !errors.As(err, &brk) || brk.Seq != 3 {
			t.Fatalf("VerifyAudit after tampering with record 3 = %v, want a break at 3", err)
		}
		// Undo, then cut the last record off: the head notices.
		if _, err := raw.ExecContext(ctx, `UPDATE audit_log SET actor = 'aigerim' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.VerifyAudit(ctx, nil); err != nil {
			t.Fatalf("VerifyAudit after undoing = %v", err)
		}
		if _, err := raw.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = 4`); err != nil {
			t.Fatal(err)
		}
		_, err = db.VerifyAudit(ctx, nil)
		if !errors.As(err, &brk) || brk.Seq != 4 {
			t.Fatalf("VerifyAudit after removing the last record = %v, want a break at 4", err)
		}
		// A hole in the middle.
		if _, err := raw.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		_, err = db.VerifyAudit(ctx, nil)
		if !errors.As(err, &brk) || brk.Seq != 2 {
			t.Fatalf("VerifyAudit after removing record 2 = %v, want a break at 2", err)
		}
	})
}

func driverOf(url string) string {
	if filepath.IsAbs(url) {
		return "sqlite"
	}
	return "pgx"
}

func dropGuards(t *testing.T, raw *sql.DB, url string) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if driverOf(url) == "pgx" {
		stmts = []string{`DROP TRIGGER audit_log_no_change ON audit_log`}
	}
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestSQLitePageSize checks that a new SQLite database gets 8 KiB pages
// and WAL, checkpointed every 8,000 pages, and that a database made with SQLite's default 4 KiB pages
// opens, migrates and keeps them.
func TestSQLitePageSize(t *testing.T) {
	ctx := context.Background()
	pageSize := func(path string) (int, string) {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		var mode string
		if err := raw.QueryRow(`PRAGMA page_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return n, mode
	}

	fresh := filepath.Join(t.TempDir(), "fresh.db")
	db, err := store.Open(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for name, pool := range db.Pools() {
		var pages int
		if err := pool.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if pages != 8000 {
			t.Errorf("%s pool: WAL checkpoint every %d pages, want 8000", name, pages)
		}
	}
	db.Close()
	if n, mode := pageSize(fresh); n != 8192 || mode != "wal" {
		t.Errorf("new database: page size %d, journal mode %s; want 8192, wal", n, mode)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA page_size = 4096; CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err = store.Open(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n, mode := pageSize(old); n != 4096 || mode != "wal" {
		t.Errorf("existing database: page size %d, journal mode %s; want 4096, wal", n, mode)
	}
}
