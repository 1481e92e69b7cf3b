package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/store/storetest"
	"qorgau.kz/qorgau/internal/web"
)

// TestDemoCameras runs rounds of the demo's camera source against a real
// server: every camera but the silent ones is reported through the batch
// API, and the silent ones come back when their time is up.
func TestDemoCameras(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, filepath.Join(t.TempDir(), "q.db"))
	if err := db.SaveFacilities(ctx, []qorgau.Facility{{Code: "F-1", Name: "F", Region: "KZ-35", Type: qorgau.ColonyMedium, Authority: "A"}}, nil); err != nil {
		t.Fatal(err)
	}
	var devs []qorgau.Device
	for _, id := range []string{"CAM-1", "CAM-2", "CAM-3", "CAM-4"} {
		devs = append(devs, qorgau.Device{ID: id, Kind: qorgau.DeviceCamera, Facility: "F-1", Interval: 30})
	}
	devs = append(devs, qorgau.Device{ID: "T-1", Kind: qorgau.DeviceTerminal, Facility: "F-1", Interval: 60})
	if err := db.SaveDevices(ctx, devs, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	tr, err := fleet.Load(ctx, db, fleet.Config{Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(db, slog.New(slog.DiscardHandler), web.Config{Fleet: tr, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	srv.Now = func() time.Time { return clock }
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	sim, err := newCameraSim(ctx, db, ts.URL, slog.New(slog.DiscardHandler), 1)
	if err != nil {
		t.Fatal(err)
	}
	sim.Batch = 3 // several requests per round
	if len(sim.cameras) != 4 {
		t.Fatalf("the simulator reports %v, want the 4 cameras only", sim.cameras)
	}
	now := clock
	if err := sim.round(ctx, now); err != nil {
		t.Fatal(err)
	}
	reported := 0
	for _, id := range sim.cameras {
		at, _, _ := tr.LastSeen(id)
		_, quiet := sim.silent[id]
		switch {
		case quiet && !at.Equal(start.UTC()):
			t.Errorf("%s is silent but was reported at %v", id, at)
		case !quiet && at.Unix() != now.Unix():
			t.Errorf("%s last seen %v, want %v", id, at, now)
		case !quiet:
			reported++
		}
	}
	if reported != 3 {
		t.Errorf("%d cameras reported, want 3 of 4 (one silent)", reported)
	}
	// Half an hour on, every silence has ended (at most 20 min) and a new
	// one begun.
	later := now.Add(30 * time.Minute)
	clock = later
	if err := sim.round(ctx, later); err != nil {
		t.Fatal(err)
	}
	if len(sim.silent) != 1 {
		t.Errorf("%d cameras silent after a new round, want 1", len(sim.silent))
	}
}
