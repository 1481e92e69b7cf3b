// Package fleet watches terminals and cameras: a Tracker keeps every
// device's last heartbeat in memory, a sweep opens an outage when a device
// has been silent for more than twice its interval and closes it when the
// device returns, and each outage gets a cause from the terminal's journal
// and heartbeats. Only changes of state reach the database.
//
// Memory is kept compact for a country's worth of cameras: devices are
// numbered densely when the registry is loaded, and what is known of them
// lives in parallel slices indexed by that number, with atomics so that
// heartbeats never take a lock.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Config tunes a Tracker. Zero fields take the defaults.
type Config struct {
	// SweepEvery is how often silence is checked; an outage is detected at
	// most 2 × interval + SweepEvery after the last heartbeat. Default 500 ms.
	SweepEvery time.Duration
	// AlertAfter is how long a terminal may be down in required hours
	// before the bodies are told. Default 30 min.
	AlertAfter time.Duration
	// Target is the availability a facility must keep over the last 24 h,
	// between 0 and 1. Default 0.95.
	Target float64
	// CheckTargetEvery is how often facilities are checked against Target.
	// Default 5 min.
	CheckTargetEvery time.Duration
	// Location is the facilities' local time, in which required hours are
	// written. Default UTC+5 (all of Kazakhstan since 2024).
	Location *time.Location
	// LogSize returns the size of the complaint log the server publishes;
	// nil disables the rollback alarm.
	LogSize func() int64
	// Notifier is told of alerts; nil logs them only.
	Notifier qorgau.Notifier
	// Logger receives what the tracker does; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now. Tests pass a fake one.
	Now func() time.Time
	// ReloadEvery is how often the registry is read again, to track
	// devices added or changed since; a beat from an unknown device makes
	// it sooner (at most every 10 s). Default 5 min.
	ReloadEvery time.Duration
	// Standby, if set, reports whether another server runs the watch, as
	// when several servers share one PostgreSQL database and this one is
	// a standby of the complaint log (tlog.Log.IsStandby). While it
	// reports true, Run neither sweeps nor alerts and Watching is false;
	// when it turns false, Run takes the watch over (see Watching). nil:
	// this is the only server, and it always watches.
	Standby func() bool
}

func (c *Config) defaults() {
	if c.SweepEvery <= 0 {
		c.SweepEvery = 500 * time.Millisecond
	}
	if c.AlertAfter <= 0 {
		c.AlertAfter = 30 * time.Minute
	}
	if c.Target <= 0 || c.Target > 1 {
		c.Target = 0.95
	}
	if c.CheckTargetEvery <= 0 {
		c.CheckTargetEvery = 5 * time.Minute
	}
	if c.Location == nil {
		c.Location = time.FixedZone("UTC+5", 5*3600)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReloadEvery <= 0 {
		c.ReloadEvery = 5 * time.Minute
	}
}

// Device states held in Tracker.state.
const (
	stateUp        uint32 = iota
	stateDown             // an outage is open
	stateReturning        // down, and a heartbeat arrived: the sweep closes the outage
)

// Tracker holds the last heartbeat of every registered device. Create it
// with Load; feed it with Heartbeat and Beat; run Run in the background.
// Its methods are safe for concurrent use.
type Tracker struct {
	cfg Config
	db  *store.DB
	// Now is the clock, from Config.Now.
	Now func() time.Time

	reg       atomic.Pointer[registry]
	sweepMu   sync.Mutex  // one sweep or registry swap at a time
	reloadMu  sync.Mutex  // one reload at a time
	wantLoad  atomic.Bool // a beat named a device the registry does not hold
	lastLoad  atomic.Int64
	reloading atomic.Bool

	mu        sync.Mutex
	open      map[int32]*openOutage // devices down, by number
	returning []returned            // devices whose outage the sweep must close
	terminals map[int32]*terminalState
	faults    map[int32]string // the last fault a camera source reported
	events    []event
	maint     []qorgau.Maintenance
	alerted   map[string]time.Time // notice keys raised, so each is raised once; forgotten after 2 days
	nextCheck time.Time
	version   atomic.Int64 // bumped on every change of state, for live pages
	watching  atomic.Bool  // this server runs the watch (see Watching)
}

// registry is the devices, numbered densely, with what is known of each in
// parallel slices. A published registry is not changed, except lastSeen
// and state, which heartbeats and sweeps change atomically. A reload
// publishes a new one in which every device keeps its number; new devices
// are numbered after the old, and the arrays heartbeats write are shared
// with the old registry while they have room, so that no beat is lost.
type registry struct {
	index      map[string]int32 // active devices only
	ids        []string
	kind       []qorgau.DeviceKind // terminal or camera; string header shared by all
	facility   []int32             // index into facilities
	limit      []int32             // 2 × interval, seconds; 0 for a device no longer in the registry
	schedule   []uint16            // index into schedules
	facilities []facilityInfo
	facIndex   map[string]int32
	schedules  []qorgau.Schedule
	// since is when the watch began for each device (Unix nanoseconds, 0
	// when unknown): availability counts required hours from then on.
	since []int64

	lastSeen []atomic.Int64 // Unix nanoseconds
	state    []atomic.Uint32
}

type facilityInfo struct {
	Code, Region string
	Bodies       []string // bodies told of its alerts
}

type openOutage struct {
	qorgau.Outage
	alerted bool
}

// terminalState is what the last heartbeat of a terminal said beyond its
// time; terminals are few, so a map under the lock is enough.
type terminalState struct {
	boot       string
	bootBefore string // the boot id before the latest outage
	tamper     bool
	logSize    int64
	outbox     int
	network    string
	journalSeq int64 // -1: not read from the store yet
	rollback   int64 // the log size last raised as a rollback
}

// returned is a device that beat again while down, and when.
type returned struct {
	i  int32
	at int64 // Unix nanoseconds
}

type event struct {
	kind   qorgau.AlarmKind
	device int32
	at     time.Time
	detail string
}

// Load builds a tracker over every device of the registry and resumes the
// persisted states and open outages. A device never heard of counts as
// seen at Load, so that silence from the start is an outage too.
func Load(ctx context.Context, db *store.DB, cfg Config) (*Tracker, error) {
	cfg.defaults()
	devices, facs, bodies, err := readRegistry(ctx, db)
	if err != nil {
		return nil, err
	}
	t := newTracker(cfg, db, devices, facs, bodies)
	r := t.reg.Load()
	now := t.Now()
	if err := t.watched(ctx, r, now); err != nil {
		return nil, err
	}
	states, err := db.DeviceStates(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		if i, ok := r.index[s.Device]; ok {
			r.lastSeen[i].Store(s.LastSeen.UnixNano())
			if r.kind[i] == qorgau.DeviceTerminal {
				t.terminals[i].boot = s.Boot
			}
		}
	}
	open, err := db.Outages(ctx, qorgau.OutageFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	for _, o := range open {
		if i, ok := r.index[o.Device]; ok {
			t.open[i] = &openOutage{Outage: o}
			r.state[i].Store(stateDown)
		}
	}
	t.maint, err = db.MaintenanceWindows(ctx, "", now.Add(-24*time.Hour), now.Add(366*24*time.Hour))
	if err != nil {
		return nil, err
	}
	return t, nil
}

func readRegistry(ctx context.Context, db *store.DB) ([]qorgau.Device, []qorgau.Facility, []qorgau.Body, error) {
	devices, _, err := db.Devices(ctx, qorgau.DeviceFilter{})
	if err != nil {
		return nil, nil, nil, err
	}
	facs, err := db.Facilities(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	bodies, err := db.Bodies(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return devices, facs, bodies, nil
}

// newTracker numbers the devices; every one starts as seen now.
func newTracker(cfg Config, db *store.DB, devices []qorgau.Device, facs []qorgau.Facility, bodies []qorgau.Body) *Tracker {
	cfg.defaults()
	t := &Tracker{
		cfg: cfg, db: db, Now: cfg.Now,
		open:      map[int32]*openOutage{},
		terminals: map[int32]*terminalState{},
		faults:    map[int32]string{},
		alerted:   map[string]time.Time{},
	}
	t.watching.Store(cfg.Standby == nil)
	r := buildRegistry(nil, devices, facs, bodies)
	t.publish(r, t.Now())
	t.lastLoad.Store(t.Now().UnixNano())
	return t
}

// buildRegistry numbers devices, keeping the numbers of prev. It leaves
// lastSeen and state to publish.
func buildRegistry(prev *registry, devices []qorgau.Device, facs []qorgau.Facility, bodies []qorgau.Body) *registry {
	n := len(devices)
	old := 0
	if prev != nil {
		old = len(prev.ids)
	}
	r := &registry{index: make(map[string]int32, n), facIndex: map[string]int32{}}
	for _, f := range facs {
		info := facilityInfo{Code: f.Code, Region: f.Region}
		for _, b := range bodies {
			if b.Kind == qorgau.BodyProsecutor && b.Region == f.Region ||
				b.Kind == qorgau.BodyNPM && (b.Region == "" || b.Region == f.Region) {
				info.Bodies = append(info.Bodies, b.Code)
			}
		}
		r.facIndex[f.Code] = int32(len(r.facilities))
		r.facilities = append(r.facilities, info)
	}
	// Devices keep their numbers; the new ones follow.
	number := make([]int32, n)
	total := old
	for k, d := range devices {
		if prev != nil {
			if i, ok := prev.index[d.ID]; ok {
				number[k] = i
				continue
			}
			if i, ok := retiredIndex(prev, d.ID); ok {
				number[k] = i
				continue
			}
		}
		number[k] = int32(total)
		total++
	}
	r.ids = make([]string, total)
	r.kind = make([]qorgau.DeviceKind, total)
	r.facility = make([]int32, total)
	r.limit = make([]int32, total) // 0 = no longer in the registry, until set below
	r.schedule = make([]uint16, total)
	if prev != nil {
		copy(r.ids, prev.ids)
		copy(r.kind, prev.kind)
		copy(r.facility, prev.facility)
	}
	schedIndex := map[string]uint16{}
	for k, d := range devices {
		i := number[k]
		r.index[d.ID] = i
		r.ids[i] = d.ID
		r.kind[i] = d.Kind
		fi, ok := r.facIndex[d.Facility]
		if !ok {
			fi = int32(len(r.facilities))
			r.facIndex[d.Facility] = fi
			r.facilities = append(r.facilities, facilityInfo{Code: d.Facility})
		}
		r.facility[i] = fi
		r.limit[i] = int32(2 * d.Interval)
		key := d.Required.String()
		si, ok := schedIndex[key]
		if !ok {
			si = uint16(len(r.schedules))
			schedIndex[key] = si
			r.schedules = append(r.schedules, d.Required)
		}
		r.schedule[i] = si
	}
	if prev != nil {
		// A retired device keeps its number but no facility of its own.
		for i := range old {
			if r.limit[i] == 0 && int(r.facility[i]) >= len(r.facilities) {
				r.facility[i] = 0
			}
		}
	}
	if len(r.facilities) == 0 {
		r.facilities = append(r.facilities, facilityInfo{})
	}
	return r
}

// retiredIndex finds the number of a device that left the registry and
// came back; it is rare, so a scan is enough.
func retiredIndex(prev *registry, id string) (int32, bool) {
	for i, x := range prev.ids {
		if x == id && prev.limit[i] == 0 {
			return int32(i), true
		}
	}
	return 0, false
}

// publish gives r the heartbeat arrays, shared with the current registry
// where they have room, and makes it current. Devices new to r count as
// seen at now. The caller holds sweepMu, or is newTracker.
func (t *Tracker) publish(r *registry, now time.Time) {
	n := len(r.ids)
	prev := t.reg.Load()
	old := 0
	if prev != nil {
		old = len(prev.ids)
	}
	switch {
	case prev != nil && n <= cap(prev.lastSeen):
		r.lastSeen, r.state = prev.lastSeen[:n], prev.state[:n]
	default:
		c := n + n/4 + 1024 // room to grow without copying
		r.lastSeen, r.state = make([]atomic.Int64, n, c), make([]atomic.Uint32, n, c)
		for i := range old {
			r.lastSeen[i].Store(prev.lastSeen[i].Load())
			r.state[i].Store(prev.state[i].Load())
		}
	}
	for i := old; i < n; i++ {
		r.lastSeen[i].Store(now.UnixNano())
		r.state[i].Store(stateUp)
	}
	t.mu.Lock()
	for i := range n { // new terminals, and devices that became terminals
		if r.kind[i] == qorgau.DeviceTerminal && t.terminals[int32(i)] == nil {
			t.terminals[int32(i)] = &terminalState{journalSeq: -1}
		}
	}
	t.mu.Unlock()
	t.reg.Store(r)
	t.version.Add(1)
}

// Reload reads the registry again, so that devices added since Load are
// tracked and devices removed are not, keeping every device's state. Run
// calls it every Config.ReloadEvery, and soon after a beat names a device
// the tracker does not know.
func (t *Tracker) Reload(ctx context.Context) error {
	t.reloadMu.Lock()
	defer t.reloadMu.Unlock()
	devices, facs, bodies, err := readRegistry(ctx, t.db)
	if err != nil {
		return err
	}
	r := buildRegistry(t.reg.Load(), devices, facs, bodies)
	if err := t.watched(ctx, r, t.Now()); err != nil {
		return err
	}
	t.sweepMu.Lock()
	defer t.sweepMu.Unlock()
	// A concurrent publish cannot have happened (reloadMu), so r's numbers
	// still match the current registry.
	t.publish(r, t.Now())
	t.lastLoad.Store(t.Now().UnixNano())
	t.cfg.Logger.Info("fleet registry reloaded", "devices", len(r.index))
	return nil
}

// watched records when the watch began for devices new to it and fills
// r.since.
func (t *Tracker) watched(ctx context.Context, r *registry, now time.Time) error {
	since, err := t.db.MarkWatched(ctx, now)
	if err != nil {
		return err
	}
	r.since = make([]int64, len(r.ids))
	for id, at := range since {
		if i, ok := r.index[id]; ok {
			r.since[i] = at.UnixNano()
		}
	}
	return nil
}

// Len returns the number of tracked devices.
func (t *Tracker) Len() int { return len(t.reg.Load().index) }

// Device returns the registry facts the tracker holds for id: its kind,
// facility and interval in seconds. ok is false for an unknown device.
func (t *Tracker) Device(id string) (kind qorgau.DeviceKind, facility string, interval int, ok bool) {
	r := t.reg.Load()
	i, ok := r.index[id]
	if !ok {
		return "", "", 0, false
	}
	return r.kind[i], r.facilities[r.facility[i]].Code, int(r.limit[i] / 2), true
}

// FacilityRegion returns the region of a facility the tracker knows.
func (t *Tracker) FacilityRegion(code string) string {
	r := t.reg.Load()
	if fi, ok := r.facIndex[code]; ok {
		return r.facilities[fi].Region
	}
	return ""
}

// seen records a heartbeat of device i at unix nanoseconds at, and hands a
// returning device to the sweep. It takes no lock and allocates nothing.
func (t *Tracker) seen(i int32, at int64) {
	r := t.reg.Load()
	for {
		old := r.lastSeen[i].Load()
		if at <= old || r.lastSeen[i].CompareAndSwap(old, at) {
			break
		}
	}
	if r.state[i].Load() == stateDown && r.state[i].CompareAndSwap(stateDown, stateReturning) {
		t.mu.Lock()
		t.returning = append(t.returning, returned{i, at})
		t.mu.Unlock()
	}
}

// Beat records one camera's report from a source at time at (clamped to
// now). A beat with OK false is a fault: it does not count as the device
// being available. It returns an ENOTFOUND error for a device the registry
// does not hold.
func (t *Tracker) Beat(b *qorgau.DeviceBeat, now time.Time) error {
	r := t.reg.Load()
	i, ok := r.index[b.Device]
	if !ok {
		t.wantLoad.Store(true)
		return qorgau.Errorf(qorgau.ENOTFOUND, "unknown device %q", b.Device)
	}
	if !b.OK {
		t.mu.Lock()
		t.faults[i] = b.Detail
		t.mu.Unlock()
		return nil
	}
	at := b.Time
	if at.IsZero() || at.After(now) {
		at = now
	}
	t.seen(i, at.UnixNano())
	return nil
}

// Index returns the dense number of a device, for callers that ingest in
// bulk with BeatAt; ok is false for an unknown device.
func (t *Tracker) Index(id string) (int32, bool) {
	r := t.reg.Load()
	i, ok := r.index[id]
	return i, ok
}

// BeatAt records a heartbeat of the device numbered i at unix nanoseconds.
func (t *Tracker) BeatAt(i int32, at int64) { t.seen(i, at) }

// HeartbeatResult is what the tracker answers a terminal's heartbeat with.
type HeartbeatResult struct {
	Interval   int
	JournalSeq int64
}

// Heartbeat records a terminal's signed heartbeat received at now: its
// boot id, tamper switch and the log size it has seen, raising alarms for
// an opened case and a log rollback. It returns ENOTFOUND for a device the
// registry does not hold and EINVALID for one that is not a terminal.
func (t *Tracker) Heartbeat(ctx context.Context, device string, hb *qorgau.Heartbeat, now time.Time) (HeartbeatResult, error) {
	r := t.reg.Load()
	i, ok := r.index[device]
	if !ok {
		t.wantLoad.Store(true)
		return HeartbeatResult{}, qorgau.Errorf(qorgau.ENOTFOUND, "unknown device %q", device)
	}
	if r.kind[i] != qorgau.DeviceTerminal {
		return HeartbeatResult{}, qorgau.Errorf(qorgau.EINVALID, "device %s is not a terminal", device)
	}
	if len(hb.Boot) > 64 {
		return HeartbeatResult{}, qorgau.Errorf(qorgau.EINVALID, "boot id is longer than 64 bytes")
	}
	res := HeartbeatResult{Interval: int(r.limit[i] / 2)}
	t.mu.Lock()
	ts := t.terminals[i]
	if hb.Tamper && !ts.tamper {
		t.events = append(t.events, event{kind: qorgau.AlarmTamper, device: i, at: now, detail: "case switch open"})
	}
	if t.cfg.LogSize != nil {
		if served := t.cfg.LogSize(); hb.LogSize > served && hb.LogSize > ts.rollback {
			ts.rollback = hb.LogSize
			t.events = append(t.events, event{kind: qorgau.AlarmLogRollback, device: i, at: now,
				detail: fmt.Sprintf("terminal has seen a log of size %d; the server serves %d", hb.LogSize, served)})
		}
	}
	ts.tamper, ts.logSize, ts.outbox, ts.network = hb.Tamper, hb.LogSize, hb.Outbox, hb.Network
	if hb.Boot != "" && hb.Boot != ts.boot {
		if ts.boot != "" {
			ts.bootBefore = ts.boot
		}
		ts.boot = hb.Boot
	}
	seq := ts.journalSeq
	t.mu.Unlock()
	if seq < 0 {
		var err error
		if seq, _, err = t.db.JournalHead(ctx, device); err != nil {
			return res, err
		}
		t.mu.Lock()
		if ts.journalSeq < seq {
			ts.journalSeq = seq
		}
		t.mu.Unlock()
	}
	res.JournalSeq = seq
	t.seen(i, now.UnixNano())
	return res, nil
}

// Version returns a number that grows whenever a device changes state, so
// that live pages know when to send an update.
func (t *Tracker) Version() int64 { return t.version.Load() }

// Counts is the number of devices of one facility up and down, by kind.
type Counts struct {
	Facility                   string
	Region                     string
	TerminalsUp, TerminalsDown int
	CamerasUp, CamerasDown     int
}

// Snapshot returns the up and down counts of every facility that has
// devices, in registry order.
func (t *Tracker) Snapshot() []Counts {
	r := t.reg.Load()
	out := make([]Counts, len(r.facilities))
	for i, f := range r.facilities {
		out[i].Facility, out[i].Region = f.Code, f.Region
	}
	for i := range r.ids {
		if r.limit[i] == 0 {
			continue // no longer in the registry
		}
		c := &out[r.facility[i]]
		down := r.state[i].Load() != stateUp
		switch {
		case r.kind[i] == qorgau.DeviceTerminal && down:
			c.TerminalsDown++
		case r.kind[i] == qorgau.DeviceTerminal:
			c.TerminalsUp++
		case down:
			c.CamerasDown++
		default:
			c.CamerasUp++
		}
	}
	return out
}

// MaintenanceDeclared tells the tracker of a newly declared window, so
// that silence in it is given cause maintenance, and tells the bodies of
// the facility that it was declared.
func (t *Tracker) MaintenanceDeclared(ctx context.Context, m qorgau.Maintenance) error {
	r := t.reg.Load()
	t.mu.Lock()
	t.maint = append(t.maint, m)
	t.mu.Unlock()
	fi, ok := r.facIndex[m.Facility]
	if !ok {
		return nil
	}
	what := "every device"
	if m.Device != "" {
		what = "device " + m.Device
	}
	return t.notify(ctx, fi, &qorgau.Notice{
		Kind: qorgau.NoticeMaintenance, Device: m.Device,
		Key: fmt.Sprintf("maintenance/%d", m.ID),
		Text: fmt.Sprintf("Facility %s declared maintenance of %s from %s to %s: %s (declared by %s).",
			m.Facility, what, m.From.UTC().Format(time.RFC3339), m.To.UTC().Format(time.RFC3339), m.Reason, m.DeclaredBy),
	})
}

// Locate returns what a camera source needs to check a beat: the device's
// number, whether it is a camera, and its facility and region. ok is false
// for a device the registry does not hold.
func (t *Tracker) Locate(id string) (i int32, camera bool, facility, region string, ok bool) {
	r := t.reg.Load()
	i, ok = r.index[id]
	if !ok {
		t.wantLoad.Store(true)
		return 0, false, "", "", false
	}
	f := &r.facilities[r.facility[i]]
	return i, r.kind[i] == qorgau.DeviceCamera, f.Code, f.Region, true
}

// JournalStored tells the tracker that a terminal's journal now ends at
// seq, and re-evaluates the causes of its recent outages, which the journal
// may explain.
func (t *Tracker) JournalStored(ctx context.Context, device string, seq int64) error {
	r := t.reg.Load()
	i, ok := r.index[device]
	if !ok {
		return nil
	}
	t.mu.Lock()
	if ts := t.terminals[i]; ts != nil && ts.journalSeq < seq {
		ts.journalSeq = seq
	}
	t.mu.Unlock()
	now := t.Now()
	list, err := t.db.Outages(ctx, qorgau.OutageFilter{Device: device, From: now.Add(-30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	for k := range list {
		o := &list[k]
		if o.Cause == qorgau.CauseMaintenance || o.Cause == qorgau.CauseTamper {
			continue
		}
		if err := t.explain(ctx, i, o); err != nil {
			return err
		}
	}
	return nil
}

// Location returns the facilities' local time, in which days and required
// hours are read.
func (t *Tracker) Location() *time.Location { return t.cfg.Location }

// Target returns the availability a facility must keep, between 0 and 1.
func (t *Tracker) Target() float64 { return t.cfg.Target }

// LastSeen returns when a device was last heard from (or, if never, when
// the tracker started) and whether it is down now. ok is false for an
// unknown device.
func (t *Tracker) LastSeen(id string) (at time.Time, down, ok bool) {
	r := t.reg.Load()
	i, ok := r.index[id]
	if !ok {
		return time.Time{}, false, false
	}
	return time.Unix(0, r.lastSeen[i].Load()).UTC(), r.state[i].Load() != stateUp, true
}

// TerminalStatus is what the last heartbeat of a terminal said.
type TerminalStatus struct {
	Device   string
	Down     bool
	LastSeen time.Time
	Boot     string
	Outbox   int // envelopes waiting on the terminal
	Tamper   bool
	LogSize  int64
	Network  string
}

// Terminals returns the status of a facility's terminals, ordered by id.
func (t *Tracker) Terminals(facility string) []TerminalStatus {
	r := t.reg.Load()
	fi, ok := r.facIndex[facility]
	if !ok {
		return nil
	}
	var list []TerminalStatus
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range r.ids {
		if r.facility[i] != fi || r.kind[i] != qorgau.DeviceTerminal || r.limit[i] == 0 {
			continue
		}
		st := TerminalStatus{Device: r.ids[i], Down: r.state[i].Load() != stateUp, LastSeen: time.Unix(0, r.lastSeen[i].Load()).UTC()}
		if ts := t.terminals[int32(i)]; ts != nil {
			st.Boot, st.Outbox, st.Tamper, st.LogSize, st.Network = ts.boot, ts.outbox, ts.tamper, ts.logSize, ts.network
		}
		list = append(list, st)
	}
	slices.SortFunc(list, func(a, b TerminalStatus) int { return strings.Compare(a.Device, b.Device) })
	return list
}
