package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/demo"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// TestDemoTerminals runs the demo's simulated terminals, at a fast pace,
// against the real server: every terminal enrols and reports, people file
// complaints at the kiosks, and the staged incidents show up in the fleet
// watch as outages or alarms.
func TestDemoTerminals(t *testing.T) {
	// Each complaint derives a reply key from a new receipt code; cheaper
	// parameters keep the pace up, the code path is the same.
	params := seal.ReplyParams
	seal.ReplyParams = seal.KDFParams{Memory: 256, Time: 1, Threads: 1}
	t.Cleanup(func() { seal.ReplyParams = params })

	const terminals = 4
	w := newWorld(t, terminals)
	if db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db")); err != nil {
		t.Fatal(err)
	} else if _, err := db.Exec(`UPDATE devices SET interval_seconds = 1 WHERE kind = 'terminal'`); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
	srv := startServe(t, w.dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	count := func(q string) (n int) {
		if err := raw.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var ready atomic.Value
	lv := &demo.Live{Server: srv.base(), DB: db, Data: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Seed: 7, Stage: 700 * time.Millisecond, Complaint: 300 * time.Millisecond,
		Ready: func(first *kiosk.Agent) { ready.Store(first) }}
	done := make(chan error, 1)
	go func() { done <- lv.Run(ctx) }()
	waitUntil(t, "every terminal running", 30*time.Second, func() bool { return ready.Load() != nil })

	var complaints, outages, alarms int
	waitUntil(t, "complaints and a staged incident", 40*time.Second, func() bool {
		complaints = count(`SELECT COUNT(*) FROM complaints`)
		outs, _ := db.Outages(ctx, qorgau.OutageFilter{})
		outages = 0
		for _, o := range outs {
			if strings.HasPrefix(o.Device, "T-") {
				outages++
			}
		}
		al, _ := db.FleetAlarms(ctx, "", 100)
		alarms = len(al)
		return complaints >= 3 && outages+alarms >= 1
	})
	t.Logf("%d complaints filed at the simulated kiosks; %d terminal outages and %d alarms staged", complaints, outages, alarms)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if enrolled := count(`SELECT COUNT(*) FROM device_keys WHERE revoked_at IS NULL`); enrolled != terminals {
		t.Errorf("%d terminals enrolled, want all %d", enrolled, terminals)
	}
	// A second start reuses the enrolments instead of asking for new ones.
	tokens := count(`SELECT COUNT(*) FROM enrollment_tokens`)
	ctx2, cancel2 := context.WithCancel(context.Background())
	ready = atomic.Value{}
	lv2 := &demo.Live{Server: srv.base(), DB: db, Data: lv.Data, Log: lv.Log, Seed: 8, Stage: time.Hour, Complaint: time.Hour,
		Ready: func(first *kiosk.Agent) { ready.Store(first) }}
	go func() { done <- lv2.Run(ctx2) }()
	waitUntil(t, "the second start", 30*time.Second, func() bool { return ready.Load() != nil })
	cancel2()
	<-done
	if tokens2 := count(`SELECT COUNT(*) FROM enrollment_tokens`); tokens2 != tokens {
		t.Errorf("the second start issued %d more enrolment tokens, want none", tokens2-tokens)
	}
}
