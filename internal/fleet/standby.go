package fleet

import (
	"context"
	"time"

	"qorgau.kz/qorgau"
)

// Several servers may share one PostgreSQL database, and one of them, the
// complaint log's sequencer, runs the watch: the others would find every
// device silent, since heartbeats go to the one that watches, and would
// open outages in the shared database for devices that are reporting.
// So a standby (Config.Standby) does not sweep, and its Watching is false,
// which the web layer answers terminals and cameras with 503, so that
// their reports reach the server that watches.
//
// When a standby becomes the one that watches, what it holds in memory is
// stale: the heartbeats, outages opened and closed, maintenance declared
// all went to the server before it. Run then takes the watch over
// (resume) before its first sweep: it reads the state back from the
// database and counts every device as seen at the takeover. A takeover
// thus opens no outage by itself; a device that stays silent has its
// outage opened 2 × interval later, starting at the takeover: the time it
// really fell silent, if during the handover, is not known here.

// Watching reports whether this server runs the watch: it sweeps, and the
// reports it is given count. Without Config.Standby it is always true. On
// a standby it is false, and it becomes true only once Run has taken the
// watch over; it becomes false again at Run's next round after
// Config.Standby reports true. Callers refuse devices' reports while it is
// false (with EUNAVAILABLE: the reports belong to another server).
func (t *Tracker) Watching() bool { return t.watching.Load() }

// lead reports whether Run should sweep now, taking the watch over first
// when this server has just become the one that watches.
func (t *Tracker) lead(ctx context.Context) bool {
	if t.cfg.Standby == nil {
		return true
	}
	if t.cfg.Standby() {
		if t.watching.Swap(false) {
			t.cfg.Logger.Warn("fleet watch: this server is a standby now; another one watches")
		}
		return false
	}
	if t.watching.Load() {
		return true
	}
	at := t.Now()
	if err := t.resume(ctx, at); err != nil {
		t.cfg.Logger.Error("fleet watch: cannot take the watch over; trying again", "err", err)
		return false
	}
	t.watching.Store(true)
	t.cfg.Logger.Info("fleet watch: this server watches now; every device counts as seen at the takeover",
		"devices", t.Len(), "at", at.UTC())
	return true
}

// resume replaces what the tracker holds in memory with what the database
// holds, as Load does, for a server that takes the watch over at at: the
// registry, the open outages (and so which devices are down), the boot
// ids and the maintenance windows. Every device counts as seen at at, a
// grace of one detection period, since its heartbeats went to the server
// before. What the last heartbeats said (case switch, outbox, log size) is
// forgotten, as at a restart, until each terminal's next heartbeat.
func (t *Tracker) resume(ctx context.Context, at time.Time) error {
	if err := t.Reload(ctx); err != nil {
		return err
	}
	states, err := t.db.DeviceStates(ctx)
	if err != nil {
		return err
	}
	open, err := t.db.Outages(ctx, qorgau.OutageFilter{OpenOnly: true})
	if err != nil {
		return err
	}
	maint, err := t.db.MaintenanceWindows(ctx, "", at.Add(-24*time.Hour), at.Add(366*24*time.Hour))
	if err != nil {
		return err
	}
	t.sweepMu.Lock()
	defer t.sweepMu.Unlock()
	r := t.reg.Load()
	down := make(map[int32]*openOutage, len(open))
	for _, o := range open {
		if i, ok := r.index[o.Device]; ok {
			down[i] = &openOutage{Outage: o}
		}
	}
	seen := at.UnixNano()
	for i := range r.lastSeen {
		r.lastSeen[i].Store(seen)
		if down[int32(i)] != nil {
			r.state[i].Store(stateDown)
		} else {
			r.state[i].Store(stateUp)
		}
	}
	t.mu.Lock()
	t.open, t.returning, t.events, t.faults = down, nil, nil, map[int32]string{}
	t.maint = maint
	for i := range t.terminals {
		t.terminals[i] = &terminalState{journalSeq: -1}
	}
	for _, s := range states {
		if i, ok := r.index[s.Device]; ok && t.terminals[i] != nil {
			t.terminals[i].boot = s.Boot
		}
	}
	t.mu.Unlock()
	t.version.Add(1)
	return nil
}
