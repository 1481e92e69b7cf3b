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

	// The registry, numbered densely; fixed after Load.
	index      map[string]int32
	ids        []string
	kind       []qorgau.DeviceKind // terminal or camera; string header shared by all
	facility   []int32             // index into facilities
	limit      []int32             // 2 × interval, seconds
	schedule   []uint16            // index into schedules
	facilities []facilityInfo
	facIndex   map[string]int32
	schedules  []qorgau.Schedule

	// What heartbeats change, without a lock.
	lastSeen []atomic.Int64 // Unix nanoseconds
	state    []atomic.Uint32

	mu        sync.Mutex
	open      map[int32]*openOutage // devices down, by number
	returning []int32               // devices whose outage the sweep must close
	terminals map[int32]*terminalState
	faults    map[int32]string // the last fault a camera source reported
	events    []event
	maint     []qorgau.Maintenance
	alerted   map[string]time.Time // notice keys raised, so each is raised once; forgotten after 2 days
	nextCheck time.Time
	version   atomic.Int64 // bumped on every change of state, for live pages
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
	journalSeq int64 // -1: not read from the store yet
	rollback   int64 // the log size last raised as a rollback
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
	devices, _, err := db.Devices(ctx, qorgau.DeviceFilter{})
	if err != nil {
		return nil, err
	}
	facs, err := db.Facilities(ctx)
	if err != nil {
		return nil, err
	}
	bodies, err := db.Bodies(ctx)
	if err != nil {
		return nil, err
	}
	t := newTracker(cfg, db, devices, facs, bodies)
	now := t.Now()
	states, err := db.DeviceStates(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		if i, ok := t.index[s.Device]; ok {
			t.lastSeen[i].Store(s.LastSeen.UnixNano())
			if t.kind[i] == qorgau.DeviceTerminal {
				t.terminals[i].boot = s.Boot
			}
		}
	}
	open, err := db.Outages(ctx, qorgau.OutageFilter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	for _, o := range open {
		if i, ok := t.index[o.Device]; ok {
			t.open[i] = &openOutage{Outage: o}
			t.state[i].Store(stateDown)
		}
	}
	t.maint, err = db.MaintenanceWindows(ctx, "", now.Add(-24*time.Hour), now.Add(366*24*time.Hour))
	if err != nil {
		return nil, err
	}
	return t, nil
}

// newTracker numbers the devices; every one starts as seen now.
func newTracker(cfg Config, db *store.DB, devices []qorgau.Device, facs []qorgau.Facility, bodies []qorgau.Body) *Tracker {
	cfg.defaults()
	n := len(devices)
	t := &Tracker{
		cfg: cfg, db: db, Now: cfg.Now,
		index:     make(map[string]int32, n),
		ids:       make([]string, n),
		kind:      make([]qorgau.DeviceKind, n),
		facility:  make([]int32, n),
		limit:     make([]int32, n),
		schedule:  make([]uint16, n),
		facIndex:  map[string]int32{},
		lastSeen:  make([]atomic.Int64, n),
		state:     make([]atomic.Uint32, n),
		open:      map[int32]*openOutage{},
		terminals: map[int32]*terminalState{},
		faults:    map[int32]string{},
		alerted:   map[string]time.Time{},
	}
	for _, f := range facs {
		info := facilityInfo{Code: f.Code, Region: f.Region}
		for _, b := range bodies {
			if b.Kind == qorgau.BodyProsecutor && b.Region == f.Region ||
				b.Kind == qorgau.BodyNPM && (b.Region == "" || b.Region == f.Region) {
				info.Bodies = append(info.Bodies, b.Code)
			}
		}
		t.facIndex[f.Code] = int32(len(t.facilities))
		t.facilities = append(t.facilities, info)
	}
	schedIndex := map[string]uint16{}
	now := t.Now().UnixNano()
	for i, d := range devices {
		t.index[d.ID] = int32(i)
		t.ids[i] = d.ID
		t.kind[i] = d.Kind
		fi, ok := t.facIndex[d.Facility]
		if !ok {
			fi = int32(len(t.facilities))
			t.facIndex[d.Facility] = fi
			t.facilities = append(t.facilities, facilityInfo{Code: d.Facility})
		}
		t.facility[i] = fi
		t.limit[i] = int32(2 * d.Interval)
		key := d.Required.String()
		si, ok := schedIndex[key]
		if !ok {
			si = uint16(len(t.schedules))
			schedIndex[key] = si
			t.schedules = append(t.schedules, d.Required)
		}
		t.schedule[i] = si
		t.lastSeen[i].Store(now)
		if d.Kind == qorgau.DeviceTerminal {
			t.terminals[int32(i)] = &terminalState{journalSeq: -1}
		}
	}
	return t
}

// Len returns the number of tracked devices.
func (t *Tracker) Len() int { return len(t.ids) }

// Device returns the registry facts the tracker holds for id: its kind,
// facility and interval in seconds. ok is false for an unknown device.
func (t *Tracker) Device(id string) (kind qorgau.DeviceKind, facility string, interval int, ok bool) {
	i, ok := t.index[id]
	if !ok {
		return "", "", 0, false
	}
	return t.kind[i], t.facilities[t.facility[i]].Code, int(t.limit[i] / 2), true
}

// FacilityRegion returns the region of a facility the tracker knows.
func (t *Tracker) FacilityRegion(code string) string {
	if fi, ok := t.facIndex[code]; ok {
		return t.facilities[fi].Region
	}
	return ""
}

// seen records a heartbeat of device i at unix nanoseconds at, and hands a
// returning device to the sweep. It takes no lock and allocates nothing.
func (t *Tracker) seen(i int32, at int64) {
	for {
		old := t.lastSeen[i].Load()
		if at <= old || t.lastSeen[i].CompareAndSwap(old, at) {
			break
		}
	}
	if t.state[i].Load() == stateDown && t.state[i].CompareAndSwap(stateDown, stateReturning) {
		t.mu.Lock()
		t.returning = append(t.returning, i)
		t.mu.Unlock()
	}
}

// Beat records one camera's report from a source at time at (clamped to
// now). A beat with OK false is a fault: it does not count as the device
// being available. It returns an ENOTFOUND error for a device the registry
// does not hold.
func (t *Tracker) Beat(b *qorgau.DeviceBeat, now time.Time) error {
	i, ok := t.index[b.Device]
	if !ok {
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
	i, ok := t.index[id]
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
	i, ok := t.index[device]
	if !ok {
		return HeartbeatResult{}, qorgau.Errorf(qorgau.ENOTFOUND, "unknown device %q", device)
	}
	if t.kind[i] != qorgau.DeviceTerminal {
		return HeartbeatResult{}, qorgau.Errorf(qorgau.EINVALID, "device %s is not a terminal", device)
	}
	if len(hb.Boot) > 64 {
		return HeartbeatResult{}, qorgau.Errorf(qorgau.EINVALID, "boot id is longer than 64 bytes")
	}
	res := HeartbeatResult{Interval: int(t.limit[i] / 2)}
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
	ts.tamper, ts.logSize = hb.Tamper, hb.LogSize
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
	out := make([]Counts, len(t.facilities))
	for i, f := range t.facilities {
		out[i].Facility, out[i].Region = f.Code, f.Region
	}
	for i := range t.ids {
		c := &out[t.facility[i]]
		down := t.state[i].Load() != stateUp
		switch {
		case t.kind[i] == qorgau.DeviceTerminal && down:
			c.TerminalsDown++
		case t.kind[i] == qorgau.DeviceTerminal:
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
	t.mu.Lock()
	t.maint = append(t.maint, m)
	t.mu.Unlock()
	fi, ok := t.facIndex[m.Facility]
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
	i, ok = t.index[id]
	if !ok {
		return 0, false, "", "", false
	}
	f := &t.facilities[t.facility[i]]
	return i, t.kind[i] == qorgau.DeviceCamera, f.Code, f.Region, true
}

// JournalStored tells the tracker that a terminal's journal now ends at
// seq, and re-evaluates the causes of its recent outages, which the journal
// may explain.
func (t *Tracker) JournalStored(ctx context.Context, device string, seq int64) error {
	i, ok := t.index[device]
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
	i, ok := t.index[id]
	if !ok {
		return time.Time{}, false, false
	}
	return time.Unix(0, t.lastSeen[i].Load()).UTC(), t.state[i].Load() != stateUp, true
}
