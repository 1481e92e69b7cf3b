package fleet

import (
	"context"
	"database/sql"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
	"qorgau.kz/qorgau/internal/tlog"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// pgServer is one `qorgau serve` of several on a PostgreSQL database, as
// far as the fleet watch goes: its own connections, the complaint log run
// with Lead, and a tracker run with Run that asks the log whether it is a
// standby, as serve wires them.
type pgServer struct {
	db   *store.DB
	log  *tlog.Log
	tr   *Tracker
	lead chan error // what Lead returned
}

func startPGServer(t *testing.T, url string, cfg tlog.Config) *pgServer {
	t.Helper()
	s := &pgServer{db: storetest.Open(t, url), lead: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var err error
	cfg.Standby = true
	if s.log, err = tlog.Open(ctx, s.db, cfg); err != nil {
		t.Fatalf("tlog.Open = %v", err)
	}
	go func() { s.lead <- s.log.Lead(ctx, 50*time.Millisecond) }()
	s.tr, err = Load(ctx, s.db, Config{SweepEvery: 50 * time.Millisecond, Location: kz, Standby: s.log.IsStandby})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	go s.tr.Run(ctx)
	return s
}

// rawPG opens the database at url with database/sql, as an administrator
// would, to do what the store does not.
func rawPG(t *testing.T, url string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("pgx", url) // the driver pgtest registers
	must(t, err)
	t.Cleanup(func() { raw.Close() })
	return raw
}

// waitFor waits up to 10 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
	}
}

// TestStandbyDoesNotSweep runs two servers on one PostgreSQL database.
// Cameras report to the log's sequencer, as a load balancer that asks
// /readyz sends them: the standby opens no outage for them. When the
// leader loses its lock, the standby takes over: the takeover opens no
// outage by itself, although the standby never heard a heartbeat, a
// camera that falls silent at the handover gets its outage 2 × interval
// after the takeover, and an outage the old leader opened stays the one
// open. The old leader stops sweeping at once.
func TestStandbyDoesNotSweep(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	setup := storetest.Open(t, url)
	must(t, setup.SaveFacilities(ctx, []qorgau.Facility{
		{Code: "EC-166-1", Name: "Colony 1", Region: "KZ-35", Type: qorgau.ColonyMedium, Authority: "KUIS", Capacity: 1000, Population: 900},
	}, nil))
	// C-1 reports throughout, C-2 until the handover, C-3 only at first.
	must(t, setup.SaveDevices(ctx, []qorgau.Device{
		{ID: "C-1", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Interval: 1},
		{ID: "C-2", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Interval: 1},
		{ID: "C-3", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Interval: 1},
	}, nil))
	skey, _, err := tlog.GenerateKey("qorgau.example/log")
	must(t, err)
	signer, vkey, err := tlog.NewSigner(skey)
	must(t, err)
	cfg := tlog.Config{Origin: "qorgau.example/log", Signer: signer, VerifierKey: vkey}

	a := startPGServer(t, url, cfg)
	waitFor(t, "the first server leads", func() bool { return !a.log.IsStandby() })
	waitFor(t, "the first server watches", a.tr.Watching)
	b := startPGServer(t, url, cfg)
	outages := func(device string) []qorgau.Outage {
		t.Helper()
		list, err := setup.Outages(ctx, qorgau.OutageFilter{Device: device})
		must(t, err)
		return list
	}

	// The cameras' reports go to the log's sequencer, as a load balancer
	// that asks /readyz sends them.
	var c2Silent, c3Silent atomic.Bool
	stop := make(chan struct{})
	beaten := make(chan struct{})
	go func() {
		defer close(beaten)
		for {
			now := time.Now()
			for _, s := range []*pgServer{a, b} {
				if s.log.IsStandby() {
					continue
				}
				s.tr.Beat(&qorgau.DeviceBeat{Device: "C-1", Time: now, OK: true}, now)
				if !c2Silent.Load() {
					s.tr.Beat(&qorgau.DeviceBeat{Device: "C-2", Time: now, OK: true}, now)
				}
				if !c3Silent.Load() {
					s.tr.Beat(&qorgau.DeviceBeat{Device: "C-3", Time: now, OK: true}, now)
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-beaten }()

	// C-3 falls silent, and 2 × interval later the leader opens its
	// outage; by then the standby, which hears nothing, has passed
	// 2 × interval since it started, and it opens none.
	time.Sleep(500 * time.Millisecond)
	c3Silent.Store(true)
	waitFor(t, "the leader opens C-3's outage", func() bool { return len(outages("C-3")) > 0 })
	time.Sleep(100 * time.Millisecond)
	if !b.log.IsStandby() {
		t.Fatal("the second server leads too")
	}
	for _, d := range []string{"C-1", "C-2"} {
		if o := outages(d); len(o) != 0 {
			t.Errorf("outages of %s, which reports to the leader = %+v, want none", d, o)
		}
	}
	if o := outages("C-3"); len(o) != 1 || !o[0].Open() {
		t.Fatalf("outages of C-3 = %+v, want one open", o)
	}
	if b.tr.Watching() {
		t.Error("the standby's tracker says it watches")
	}

	// The leader's lock connection goes away; C-2 falls silent with it.
	raw := rawPG(t, url)
	var killed int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the lock holder: %d killed, %v", killed, err)
	}
	c2Silent.Store(true)
	handover := time.Now()
	select {
	case err := <-a.lead:
		if err == nil {
			t.Fatal("the old leader's Lead = nil, want the lost-lock error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the old leader kept leading after losing its lock")
	}
	waitFor(t, "the old leader stops watching", func() bool { return !a.tr.Watching() })
	waitFor(t, "the standby takes the watch over", b.tr.Watching)
	takeover := time.Now()

	// Within 2 × interval of the takeover nothing is opened; then C-2's
	// outage, starting at the takeover.
	var opened time.Time
	waitFor(t, "an outage for C-2", func() bool {
		if len(outages("C-2")) > 0 {
			opened = time.Now()
			return true
		}
		if o := outages("C-1"); len(o) > 0 {
			t.Fatalf("outage of C-1, which reports throughout = %+v", o)
		}
		return false
	})
	if d := opened.Sub(takeover); d < 1500*time.Millisecond {
		t.Errorf("C-2's outage was opened %v after the takeover, want 2 × interval (2 s)", d)
	}
	o := outages("C-2")
	if len(o) != 1 || o[0].Start.Before(handover) || o[0].Start.After(takeover) {
		t.Errorf("C-2's outages = %+v, want one starting at the takeover (between %v and %v)", o, handover, takeover)
	}
	time.Sleep(300 * time.Millisecond)
	if o := outages("C-1"); len(o) != 0 {
		t.Errorf("outages of C-1, which reports throughout = %+v, want none", o)
	}
	if o := outages("C-3"); len(o) != 1 || !o[0].Open() {
		t.Errorf("outages of C-3 after the takeover = %+v, want the one the old leader opened", o)
	}
}
