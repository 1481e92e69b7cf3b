package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// notices is a Notifier that keeps what it is told: the edge of the system.
type notices struct {
	mu   sync.Mutex
	list []qorgau.Notice
}

func (n *notices) Notify(_ context.Context, x *qorgau.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, *x)
	return nil
}

func (n *notices) kinds() []qorgau.NoticeKind {
	n.mu.Lock()
	defer n.mu.Unlock()
	var k []qorgau.NoticeKind
	for _, x := range n.list {
		k = append(k, x.Kind)
	}
	return k
}

// world is a tracker over a real SQLite store with a fake clock.
type world struct {
	t   *testing.T
	db  *store.DB
	tr  *Tracker
	now time.Time
	n   *notices
}

// kz is the facilities' local time.
var kz = time.FixedZone("UTC+5", 5*3600)

// t0 is 10:00 local time on a Monday: within the terminal's required hours.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, kz)

func newWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, filepath.Join(t.TempDir(), "q.db"))
	w := &world{t: t, db: db, now: t0, n: &notices{}}
	db.Now = func() time.Time { return w.now }
	must(t, db.SaveFacilities(ctx, []qorgau.Facility{
		{Code: "EC-166-1", Name: "Colony 1", Region: "KZ-35", Type: qorgau.ColonyMedium, Authority: "KUIS", Capacity: 1000, Population: 900},
		{Code: "SIZO-1", Name: "Pre-trial 1", Region: "KZ-71", Type: qorgau.PretrialCentre, Authority: "KUIS", Capacity: 500, Population: 400},
	}, nil))
	sch, _ := qorgau.ParseSchedule("08:00-20:00")
	must(t, db.SaveDevices(ctx, []qorgau.Device{
		{ID: "T-1", Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Interval: 60, Required: sch},
		{ID: "C-1", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Interval: 30},
		{ID: "C-2", Kind: qorgau.DeviceCamera, Facility: "SIZO-1", Interval: 30},
	}, nil))
	must(t, db.SaveBodies(ctx, []qorgau.Body{
		{Code: "PROS-KZ-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "a", NameRU: "b", NameEN: "c"},
		{Code: "PROS-KZ-71", Kind: qorgau.BodyProsecutor, Region: "KZ-71", NameKK: "a", NameRU: "b", NameEN: "c"},
		{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "a", NameRU: "b", NameEN: "c"},
		{Code: "OMB", Kind: qorgau.BodyOmbudsman, NameKK: "a", NameRU: "b", NameEN: "c"},
	}, nil))
	cfg.Notifier, cfg.Location = w.n, kz
	w.load(cfg)
	return w
}

// load (re)starts the tracker, as serve does at start.
func (w *world) load(cfg Config) {
	w.t.Helper()
	cfg.Notifier, cfg.Location = w.n, kz
	tr, err := loadAt(context.Background(), w.db, cfg, func() time.Time { return w.now })
	if err != nil {
		w.t.Fatal(err)
	}
	w.tr = tr
}

// loadAt is Load with the clock set before the registry is numbered.
func loadAt(ctx context.Context, db *store.DB, cfg Config, now func() time.Time) (*Tracker, error) {
	cfg.Now = now
	return Load(ctx, db, cfg)
}

// advance moves the clock by d in steps of the sweep period, sweeping at
// each, as Run does.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	step := w.tr.cfg.SweepEvery
	for end := w.now.Add(d); w.now.Before(end); {
		w.now = w.now.Add(step)
		must(w.t, w.tr.Sweep(context.Background()))
	}
}

func (w *world) beat(device string) {
	w.t.Helper()
	must(w.t, w.tr.Beat(&qorgau.DeviceBeat{Device: device, Time: w.now, OK: true}, w.now))
}

func (w *world) heartbeat(hb qorgau.Heartbeat) HeartbeatResult {
	w.t.Helper()
	res, err := w.tr.Heartbeat(context.Background(), "T-1", &hb, w.now)
	must(w.t, err)
	return res
}

func (w *world) outages(device string) []qorgau.Outage {
	w.t.Helper()
	list, err := w.db.Outages(context.Background(), qorgau.OutageFilter{Device: device})
	must(w.t, err)
	return list
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDetectionLatency(t *testing.T) {
	for _, period := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, time.Second} {
		t.Run(period.String(), func(t *testing.T) {
			w := newWorld(t, Config{SweepEvery: period})
			w.advance(3 * time.Second)
			w.beat("C-1")
			last := w.now
			var opened time.Time
			for w.now.Before(last.Add(2 * time.Minute)) {
				w.advance(period)
				if len(w.outages("C-1")) > 0 {
					opened = w.now
					break
				}
			}
			if opened.IsZero() {
				t.Fatal("no outage after 2 minutes of silence of a 30 s camera")
			}
			if lat := opened.Sub(last); lat <= 60*time.Second || lat > 61*time.Second {
				t.Errorf("outage detected %s after the last beat, want in (60 s, 61 s]", lat)
			}
			o := w.outages("C-1")[0]
			if !o.Start.Equal(last) || !o.Open() || o.Facility != "EC-166-1" || !o.Required {
				t.Errorf("outage = %+v, want open, starting at the last beat %v", o, last)
			}
			if c := w.tr.Snapshot()[0]; c.CamerasDown != 1 {
				t.Errorf("snapshot = %+v, want one camera down", c)
			}
			w.advance(time.Minute)
			back := w.now
			w.beat("C-1")
			w.now = w.now.Add(50 * time.Millisecond)
			w.beat("C-1") // another beat before the sweep: the outage ends at the first
			w.advance(period)
			o = w.outages("C-1")[0]
			if !o.End.Equal(back) || o.Cause != qorgau.CauseUnknown {
				t.Errorf("closed outage = %+v, want end %v", o, back)
			}
			if n := len(w.outages("C-1")); n != 1 {
				t.Errorf("%d outages after return, want 1", n)
			}
		})
	}
}

// TestBeatsKeepDevicesUp checks that a device beating on time never gets
// an outage, however the beats fall between sweeps.
func TestBeatsKeepDevicesUp(t *testing.T) {
	w := newWorld(t, Config{SweepEvery: 700 * time.Millisecond})
	for range 200 {
		w.beat("C-1")
		w.beat("C-2")
		w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
		w.advance(29 * time.Second)
	}
	if o := w.outages(""); len(o) != 0 {
		t.Errorf("outages of devices beating on time: %+v", o)
	}
}

func TestCauses(t *testing.T) {
	ctx := context.Background()
	t.Run("network", func(t *testing.T) {
		w := newWorld(t, Config{})
		w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
		w.beat("C-1")
		w.beat("C-2")
		lost := w.now.Add(10 * time.Second)
		w.advance(10 * time.Minute)
		o := w.outages("T-1")
		if len(o) != 1 || o[0].Cause != qorgau.CauseUnknown {
			t.Fatalf("outages while silent = %+v", o)
		}
		// It comes back; the journal it uploads shows it running, cut off.
		res := w.heartbeat(qorgau.Heartbeat{Boot: "b1", Network: qorgau.NetworkRestored})
		w.advance(time.Second)
		if o := w.outages("T-1"); o[0].Cause != qorgau.CauseNetwork || o[0].Open() {
			t.Errorf("outage after a heartbeat saying restored = %+v, want closed with cause network", o[0])
		}
		entries := chain(0, qorgau.JournalGenesis, "b1",
			jr{lost, qorgau.JournalNetworkLost}, jr{lost.Add(time.Minute), qorgau.JournalHeartbeat}, jr{w.now, qorgau.JournalNetworkBack})
		if res.JournalSeq != 0 {
			t.Errorf("JournalSeq before upload = %d, want 0", res.JournalSeq)
		}
		seq, err := w.db.AppendJournal(ctx, "T-1", entries)
		must(t, err)
		must(t, w.tr.JournalStored(ctx, "T-1", seq))
		o = w.outages("T-1")
		if o[0].Cause != qorgau.CauseNetwork || o[0].Open() {
			t.Errorf("outage after the journal = %+v, want closed with cause network", o[0])
		}
		if res := w.heartbeat(qorgau.Heartbeat{Boot: "b1"}); res.JournalSeq != 3 {
			t.Errorf("JournalSeq after upload = %d, want 3", res.JournalSeq)
		}
	})
	t.Run("power", func(t *testing.T) {
		w := newWorld(t, Config{})
		w.heartbeat(qorgau.Heartbeat{Boot: "b1", Uptime: 1000})
		w.advance(5 * time.Minute)
		w.heartbeat(qorgau.Heartbeat{Boot: "b2", Uptime: 20})
		w.advance(time.Second)
		if o := w.outages("T-1"); len(o) != 1 || o[0].Cause != qorgau.CausePower {
			t.Fatalf("outage after a restart = %+v, want cause power", o)
		}
	})
	t.Run("tamper", func(t *testing.T) {
		w := newWorld(t, Config{})
		w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
		w.advance(time.Second)
		w.heartbeat(qorgau.Heartbeat{Boot: "b1", Tamper: true})
		w.advance(5 * time.Minute)
		if o := w.outages("T-1"); len(o) != 1 || o[0].Cause != qorgau.CauseTamper {
			t.Fatalf("outage after the case opened = %+v, want cause tamper", o)
		}
		if k := w.n.kinds(); !slices.Contains(k, qorgau.NoticeTamper) {
			t.Errorf("notices = %v, want a tamper notice", k)
		}
		al, _ := w.db.FleetAlarms(ctx, "EC-166-1", 10)
		if len(al) != 1 || al[0].Kind != qorgau.AlarmTamper {
			t.Errorf("alarms = %+v, want one tamper alarm", al)
		}
	})
	t.Run("maintenance", func(t *testing.T) {
		w := newWorld(t, Config{})
		m := qorgau.Maintenance{Facility: "EC-166-1", From: w.now.Add(time.Minute), To: w.now.Add(time.Hour), Reason: "wiring", DeclaredBy: "liaison"}
		must(t, w.db.DeclareMaintenance(ctx, &m, nil))
		must(t, w.tr.MaintenanceDeclared(ctx, m))
		w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
		for range 42 * 3 {
			w.beat("C-2")
			w.advance(20 * time.Second)
		}
		if o := w.outages("T-1"); len(o) != 1 || o[0].Cause != qorgau.CauseMaintenance || o[0].Detail != "wiring" {
			t.Errorf("terminal outage in maintenance = %+v", o)
		}
		if o := w.outages("C-2"); len(o) != 0 {
			t.Errorf("a camera of another facility got %+v", o)
		}
		for _, k := range w.n.kinds() {
			if k == qorgau.NoticeTerminalDown {
				t.Error("a terminal down for declared maintenance raised an alert")
			}
		}
	})
}

type jr struct {
	at   time.Time
	kind qorgau.JournalKind
}

func chain(seq int64, prev, boot string, rs ...jr) []qorgau.JournalEntry {
	var list []qorgau.JournalEntry
	for _, r := range rs {
		e := qorgau.JournalEntry{Seq: seq + 1, Time: r.at, Boot: boot, Kind: r.kind, Prev: prev}
		e.Hash = e.ComputeHash()
		list = append(list, e)
		seq, prev = e.Seq, e.Hash
	}
	return list
}

func TestInferCause(t *testing.T) {
	start := time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)
	o := &qorgau.Outage{Start: start, End: start.Add(time.Hour)}
	in := start.Add(10 * time.Minute)
	out := start.Add(2 * time.Hour)
	tests := []struct {
		name          string
		entries       []jr
		maint         bool
		before, after string
		want          qorgau.OutageCause
	}{
		{"maintenance wins", []jr{{in, qorgau.JournalTamperOpen}}, true, "b1", "b2", qorgau.CauseMaintenance},
		{"last heartbeat stamped late", []jr{{start.Add(2 * time.Second), qorgau.JournalHeartbeat}}, false, "b1", "b2", qorgau.CausePower},
		{"rebooted, then beat", []jr{{in, qorgau.JournalBoot}, {in.Add(time.Second), qorgau.JournalHeartbeat}, {in.Add(2 * time.Second), qorgau.JournalSubmitted}}, false, "b1", "b2", qorgau.CausePower},
		{"cut off, then rebooted", []jr{{in, qorgau.JournalNetworkLost}, {in.Add(time.Minute), qorgau.JournalBoot}}, false, "b1", "b2", qorgau.CauseNetwork},
		{"network lost at once", []jr{{start.Add(time.Second), qorgau.JournalNetworkLost}}, false, "b1", "b1", qorgau.CauseNetwork},
		{"tamper", []jr{{in, qorgau.JournalHeartbeat}, {in, qorgau.JournalTamperOpen}}, false, "b1", "b1", qorgau.CauseTamper},
		{"network lost", []jr{{in, qorgau.JournalNetworkLost}, {in, qorgau.JournalHeartbeat}}, false, "b1", "b1", qorgau.CauseNetwork},
		{"running", []jr{{in, qorgau.JournalSubmitted}}, false, "b1", "b1", qorgau.CauseNetwork},
		{"new boot", nil, false, "b1", "b2", qorgau.CausePower},
		{"boot entry", []jr{{in, qorgau.JournalBoot}}, false, "", "", qorgau.CausePower},
		{"shut down", []jr{{in, qorgau.JournalShutdown}, {in, qorgau.JournalBoot}}, false, "b1", "b2", qorgau.CauseUnknown},
		{"entries outside the gap", []jr{{out, qorgau.JournalNetworkLost}}, false, "b1", "b1", qorgau.CauseUnknown},
		{"nothing", nil, false, "b1", "b1", qorgau.CauseUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := InferCause(o, chain(0, qorgau.JournalGenesis, "b", tt.entries...), time.Minute, tt.maint, tt.before, tt.after)
			if got != tt.want {
				t.Errorf("InferCause = %s (%s), want %s", got, detail, tt.want)
			}
		})
	}
}

func TestAlerts(t *testing.T) {
	w := newWorld(t, Config{AlertAfter: 30 * time.Minute, CheckTargetEvery: time.Hour, Target: 0.95, LogSize: func() int64 { return 100 }})
	w.heartbeat(qorgau.Heartbeat{Boot: "b1", LogSize: 100})
	w.beat("C-1")
	w.beat("C-2")
	w.heartbeat(qorgau.Heartbeat{Boot: "b1", LogSize: 250})
	w.heartbeat(qorgau.Heartbeat{Boot: "b1", LogSize: 250}) // the same rollback is told once
	w.advance(time.Second)
	if k := w.n.kinds(); !slices.Equal(k, []qorgau.NoticeKind{qorgau.NoticeLogRollback}) {
		t.Fatalf("notices after a rollback = %v, want one log_rollback", k)
	}
	w.advance(29 * time.Minute)
	if k := w.n.kinds(); slices.Contains(k, qorgau.NoticeTerminalDown) {
		t.Fatalf("terminal_down before the threshold: %v", k)
	}
	w.advance(5 * time.Minute)
	var down *qorgau.Notice
	w.n.mu.Lock()
	for k := range w.n.list {
		if w.n.list[k].Kind == qorgau.NoticeTerminalDown {
			down = &w.n.list[k]
		}
	}
	w.n.mu.Unlock()
	if down == nil {
		t.Fatalf("no terminal_down notice after 35 min down in required hours: %v", w.n.kinds())
	}
	if !slices.Equal(slices.Sorted(slices.Values(down.Bodies)), []string{"NPM", "PROS-KZ-35"}) || down.Device != "T-1" || down.Region != "KZ-35" {
		t.Errorf("terminal_down notice = %+v, want to PROS-KZ-35 and NPM about T-1", down)
	}
	// Everything has been silent for over half an hour: the hourly target
	// check finds both facilities far below 95 % over the last 24 h... of
	// which only the silent part counts, so run it a day later.
	w.advance(90 * time.Minute)
	var below []string
	for _, n := range w.n.list {
		if n.Kind == qorgau.NoticeBelowTarget {
			below = append(below, n.Facility)
		}
	}
	slices.Sort(below)
	if !slices.Equal(below, []string{"EC-166-1", "SIZO-1"}) {
		t.Errorf("below_target notices for %v, want both facilities", below)
	}
}

// TestAlertOutsideRequiredHours: a terminal silent at night, outside its
// required hours, is an outage but no alert until the hours begin.
func TestAlertOutsideRequiredHours(t *testing.T) {
	w := newWorld(t, Config{})
	w.now = time.Date(2026, 11, 23, 21, 0, 0, 0, kz)
	w.load(Config{CheckTargetEvery: 48 * time.Hour})
	w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
	w.advance(2 * time.Hour)
	o := w.outages("T-1")
	if len(o) != 1 || o[0].Required {
		t.Fatalf("night outage = %+v, want one outside required hours", o)
	}
	if slices.Contains(w.n.kinds(), qorgau.NoticeTerminalDown) {
		t.Error("terminal_down raised outside required hours")
	}
}

func TestRestartResumes(t *testing.T) {
	w := newWorld(t, Config{})
	w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
	w.advance(5 * time.Minute)
	if len(w.outages("T-1")) != 1 {
		t.Fatal("no outage before the restart")
	}
	w.load(Config{})
	if c := w.tr.Snapshot()[0]; c.TerminalsDown != 1 {
		t.Errorf("after restart the terminal is not down: %+v", c)
	}
	w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
	w.advance(time.Second)
	o := w.outages("T-1")
	if len(o) != 1 || o[0].Open() {
		t.Errorf("outages after return across a restart = %+v, want one closed", o)
	}
	states, _ := w.db.DeviceStates(context.Background())
	for _, s := range states {
		if s.Device == "T-1" && (!s.Up || s.Boot != "b1") {
			t.Errorf("state of T-1 = %+v, want up with boot b1", s)
		}
	}
}

func TestUnknownDevice(t *testing.T) {
	w := newWorld(t, Config{})
	if err := w.tr.Beat(&qorgau.DeviceBeat{Device: "NOPE", OK: true}, w.now); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		t.Errorf("Beat(unknown) = %v, want ENOTFOUND", err)
	}
	if _, err := w.tr.Heartbeat(context.Background(), "C-1", &qorgau.Heartbeat{}, w.now); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("Heartbeat(camera) = %v, want EINVALID", err)
	}
}

// TestConcurrentBeatsAndSweeps beats from several goroutines while the
// clock moves and sweeps run; run with -race. Devices that beat on time
// must never get an outage, and a device that stops must.
func TestConcurrentBeatsAndSweeps(t *testing.T) {
	w := newWorld(t, Config{})
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	w.db.Now = now
	tr, err := Load(context.Background(), w.db, Config{Now: now, Location: kz, Notifier: w.n})
	must(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seenC, seenT atomic.Int64 // the clock each beater last used
	for g := range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				at := now()
				tr.Beat(&qorgau.DeviceBeat{Device: "C-2", Time: at, OK: true}, at)
				seenC.Store(at.UnixNano())
				if g == 0 {
					tr.Heartbeat(context.Background(), "T-1", &qorgau.Heartbeat{Boot: "b1"}, at)
					seenT.Store(at.UnixNano())
				}
				time.Sleep(20 * time.Microsecond)
			}
		})
	}
	for range 1500 { // 150 s of simulated time
		c := clock.Add(int64(100 * time.Millisecond))
		for seenC.Load() < c || seenT.Load() < c { // the beaters keep up, however loaded the machine
			time.Sleep(20 * time.Microsecond)
		}
		must(t, tr.Sweep(context.Background()))
	}
	close(stop)
	wg.Wait()
	for _, d := range []string{"C-2", "T-1"} {
		if o := w.outages(d); len(o) != 0 {
			t.Errorf("%s beat all along but has outages %+v", d, o)
		}
	}
	if o := w.outages("C-1"); len(o) != 1 {
		t.Errorf("C-1 was silent 150 s but has outages %+v, want one", o)
	}
}

// TestReload adds devices while the tracker runs: they are unknown until
// the registry is read again, then tracked, and the old devices keep their
// state, whether the heartbeat arrays are shared or copied to grow.
func TestReload(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{1, 1500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := newWorld(t, Config{})
			w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
			for range 5 { // C-1 goes down, C-2 keeps beating
				w.beat("C-2")
				w.advance(20 * time.Second)
			}
			if _, down, _ := w.tr.LastSeen("C-1"); !down {
				t.Fatal("C-1 not down")
			}
			seenC2, _, _ := w.tr.LastSeen("C-2")
			var devs []qorgau.Device
			for k := range n {
				devs = append(devs, qorgau.Device{ID: fmt.Sprintf("NEW-%d", k), Kind: qorgau.DeviceCamera, Facility: "SIZO-1", Interval: 30})
			}
			must(t, w.db.SaveDevices(ctx, devs, nil))
			if err := w.tr.Beat(&qorgau.DeviceBeat{Device: "NEW-0", Time: w.now, OK: true}, w.now); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
				t.Fatalf("beat of a device added after Load = %v, want ENOTFOUND until reload", err)
			}
			must(t, w.tr.Reload(ctx))
			if got := w.tr.Len(); got != 3+n {
				t.Errorf("Len after reload = %d, want %d", got, 3+n)
			}
			w.beat("NEW-0")
			if at, down, ok := w.tr.LastSeen("C-2"); !ok || down || !at.Equal(seenC2) {
				t.Errorf("C-2 after reload = %v %v %v, want up, last seen %v", at, down, ok, seenC2)
			}
			if _, down, _ := w.tr.LastSeen("C-1"); !down {
				t.Error("C-1 came up by a reload")
			}
			w.beat("C-1")
			w.advance(time.Second)
			if o := w.outages("C-1"); len(o) != 1 || o[0].Open() {
				t.Errorf("C-1's outage after its return = %+v, want closed", o)
			}
			c := w.tr.Snapshot()
			if c[1].Facility != "SIZO-1" || c[1].CamerasUp != 1+n {
				t.Errorf("SIZO-1 counts = %+v, want %d cameras up", c[1], 1+n)
			}
		})
	}
}

// TestOutageWriteRetried: when the outages of a sweep cannot be written,
// none is lost: the devices stay up in memory and the next sweep tries
// again.
func TestOutageWriteRetried(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, Config{})
	// An outage of C-1 the tracker does not know of makes the write fail.
	must(t, w.db.OpenOutage(ctx, &qorgau.Outage{Device: "C-1", Facility: "EC-166-1", Start: w.now, Cause: qorgau.CauseUnknown}, w.now, ""))
	w.now = w.now.Add(61 * time.Second)
	if err := w.tr.Sweep(ctx); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
		t.Fatalf("Sweep with a failing write = %v, want the ECONFLICT", err)
	}
	if _, down, _ := w.tr.LastSeen("C-2"); down {
		t.Error("C-2 is down in memory though its outage was not written")
	}
	if o := w.outages("C-2"); len(o) != 0 {
		t.Errorf("C-2 outages after a failed write: %+v", o)
	}
	_, err := w.db.CloseOutage(ctx, "C-1", w.now, "")
	must(t, err)
	w.now = w.now.Add(time.Second)
	must(t, w.tr.Sweep(ctx))
	for _, d := range []string{"C-1", "C-2"} {
		if o := w.outages(d); len(o) == 0 || !o[len(o)-1].Open() {
			t.Errorf("%s after the retry: %+v, want an open outage", d, o)
		}
	}
}
