package fleet

import (
	"context"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
)

// Run sweeps every Config.SweepEvery until ctx is cancelled, while this
// server runs the watch (Config.Standby). It logs a failed sweep and goes
// on: a database that is briefly away must not stop the watch.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.SweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if !t.lead(ctx) {
				continue
			}
			if err := t.Sweep(ctx); err != nil {
				t.cfg.Logger.Error("fleet sweep", "err", err)
			}
			t.maybeReload(ctx)
		}
	}
}

// maybeReload reads the registry again in the background when it is due,
// or when a beat named an unknown device (at most every 10 s), so that a
// slow read of a large registry never delays a sweep.
func (t *Tracker) maybeReload(ctx context.Context) {
	since := t.Now().Sub(time.Unix(0, t.lastLoad.Load()))
	due := since >= t.cfg.ReloadEvery || t.wantLoad.Load() && since >= 10*time.Second
	if !due || !t.reloading.CompareAndSwap(false, true) {
		return
	}
	t.wantLoad.Store(false)
	go func() {
		defer t.reloading.Store(false)
		if err := t.Reload(ctx); err != nil {
			t.lastLoad.Store(t.Now().UnixNano()) // do not retry at once
			t.cfg.Logger.Error("fleet registry reload", "err", err)
		}
	}()
}

// scan returns the devices that have been silent longer than twice their
// interval and marks them down. It reads only the in-memory slices.
func (t *Tracker) scan(r *registry, now int64, into []int32) []int32 {
	lastSeen, state, limit := r.lastSeen, r.state, r.limit[:len(r.lastSeen)]
	for i := range lastSeen {
		if now-lastSeen[i].Load() <= int64(limit[i])*int64(time.Second) || limit[i] == 0 {
			continue
		}
		if !state[i].CompareAndSwap(stateUp, stateDown) {
			continue
		}
		// A heartbeat may have landed between the load and the swap.
		if now-lastSeen[i].Load() <= int64(limit[i])*int64(time.Second) {
			state[i].Store(stateUp)
			continue
		}
		into = append(into, int32(i))
	}
	return into
}

// Sweep opens outages for devices silent too long, closes those of
// devices that returned, raises alarms and alerts, and persists the
// changes. Run calls it; tests call it with a fake clock.
func (t *Tracker) Sweep(ctx context.Context) error {
	t.sweepMu.Lock()
	defer t.sweepMu.Unlock()
	now := t.Now()
	down := t.scan(t.reg.Load(), now.UnixNano(), nil)

	t.mu.Lock()
	back, events := t.returning, t.events
	t.returning, t.events = nil, nil
	t.mu.Unlock()

	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if len(down) > 0 {
		keep(t.openOutages(ctx, down))
	}
	for _, b := range back {
		keep(t.closeOutage(ctx, b))
	}
	for _, e := range events {
		keep(t.raise(ctx, e))
	}
	keep(t.alertLongOutages(ctx, now))
	if !now.Before(t.nextCheck) {
		t.nextCheck = now.Add(t.cfg.CheckTargetEvery)
		keep(t.checkTargets(ctx, now))
	}
	return firstErr
}

func (t *Tracker) openOutages(ctx context.Context, down []int32) error {
	r := t.reg.Load()
	list := make([]*qorgau.Outage, len(down))
	states := make([]qorgau.DeviceState, len(down))
	t.mu.Lock()
	for k, i := range down {
		start := time.Unix(0, r.lastSeen[i].Load()).UTC()
		fac := r.facilities[r.facility[i]].Code
		o := &qorgau.Outage{Device: r.ids[i], Facility: fac, Start: start, Cause: qorgau.CauseUnknown,
			Required: r.schedules[r.schedule[i]].Contains(start.In(t.cfg.Location))}
		if m := t.maintenanceAt(fac, r.ids[i], start.Add(time.Duration(r.limit[i])*time.Second/2)); m != nil {
			o.Cause, o.Detail = qorgau.CauseMaintenance, m.Reason
		} else if ts := t.terminals[i]; ts != nil && ts.tamper {
			o.Cause, o.Detail = qorgau.CauseTamper, "case switch open at the last heartbeat"
		} else if f, ok := t.faults[i]; ok {
			o.Detail = "fault: " + f
		}
		states[k] = qorgau.DeviceState{Device: r.ids[i], Since: start, LastSeen: start}
		if ts := t.terminals[i]; ts != nil {
			states[k].Boot = ts.boot
			ts.bootBefore = ts.boot
		}
		list[k] = o
	}
	t.mu.Unlock()
	if err := t.db.OpenOutages(ctx, list, states); err != nil {
		// Nothing was written: mark them up again, so that the next sweep
		// finds them still silent and tries again. An outage must not go
		// unrecorded.
		for _, i := range down {
			r.state[i].Store(stateUp)
		}
		return fmt.Errorf("open %d outages: %w", len(list), err)
	}
	t.mu.Lock()
	for k, i := range down {
		t.open[i] = &openOutage{Outage: *list[k]}
	}
	t.mu.Unlock()
	t.version.Add(1)
	t.cfg.Logger.Debug("outages opened", "count", len(down))
	return nil
}

// closeOutage ends a device's outage at its first heartbeat back.
func (t *Tracker) closeOutage(ctx context.Context, b returned) error {
	r := t.reg.Load()
	i, end := b.i, time.Unix(0, b.at).UTC()
	var boot string
	t.mu.Lock()
	if ts := t.terminals[i]; ts != nil {
		boot = ts.boot
	}
	delete(t.faults, i)
	t.mu.Unlock()
	o, err := t.db.CloseOutage(ctx, r.ids[i], end, boot)
	if err != nil && qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		t.mu.Lock()
		t.returning = append(t.returning, b) // try again next sweep
		t.mu.Unlock()
		return err
	}
	t.mu.Lock()
	delete(t.open, i)
	t.mu.Unlock()
	r.state[i].Store(stateUp)
	t.version.Add(1)
	if o != nil && r.kind[i] == qorgau.DeviceTerminal && o.Cause == qorgau.CauseUnknown {
		return t.explain(ctx, i, o)
	}
	return nil
}

// maintenanceAt returns the declared window covering the device at t, or
// nil. The caller holds t.mu.
func (t *Tracker) maintenanceAt(facility, device string, at time.Time) *qorgau.Maintenance {
	for k := range t.maint {
		if t.maint[k].Covers(facility, device, at) {
			return &t.maint[k]
		}
	}
	return nil
}

// explain infers the cause of a terminal's outage from its journal and
// boot ids, and stores it if it changed.
func (t *Tracker) explain(ctx context.Context, i int32, o *qorgau.Outage) error {
	r := t.reg.Load()
	end := o.End
	if end.IsZero() {
		end = t.Now()
	}
	entries, err := t.db.Journal(ctx, o.Device, o.Start, end.Add(time.Second))
	if err != nil {
		return err
	}
	t.mu.Lock()
	var before, after string
	var restored bool
	if ts := t.terminals[i]; ts != nil {
		before, after = ts.bootBefore, ts.boot
		restored = ts.network == qorgau.NetworkRestored
	}
	maint := t.maintenanceAt(o.Facility, o.Device, o.Start.Add(time.Duration(r.limit[i])*time.Second/2)) != nil
	t.mu.Unlock()
	cause, detail := InferCause(o, entries, time.Duration(r.limit[i])*time.Second/2, maint, before, after)
	if cause == qorgau.CauseUnknown && len(entries) == 0 && restored && !o.End.IsZero() && (before == "" || before == after) {
		// Until its journal arrives, the terminal's own word.
		cause, detail = qorgau.CauseNetwork, "the terminal reported its network restored; its journal has not arrived yet"
	}
	if cause == o.Cause && detail == o.Detail {
		return nil
	}
	o.Cause, o.Detail = cause, detail
	t.mu.Lock()
	if oo := t.open[i]; oo != nil && oo.ID == o.ID {
		oo.Cause, oo.Detail = cause, detail
	}
	t.mu.Unlock()
	return t.db.SetOutageCause(ctx, o.ID, cause, detail)
}

// InferCause tells why a terminal was silent during o, from the journal
// entries it uploaded (in sequence order), its heartbeat interval, whether
// a declared maintenance window covered it, and its boot id before and
// after. In order: maintenance; tamper if the case was opened; network if
// the journal shows it running while cut off (the network lost, heartbeats
// failing, submissions queued) before any new boot; power if it booted
// again (a boot entry, or a new boot id) without a shutdown; else unknown.
//
// A heartbeat entry counts as running only from one interval after the
// last heartbeat the server received, so that the entry of that last
// heartbeat, stamped by a clock a little ahead, does not count.
func InferCause(o *qorgau.Outage, entries []qorgau.JournalEntry, interval time.Duration, maintenance bool, bootBefore, bootAfter string) (qorgau.OutageCause, string) {
	if maintenance {
		return qorgau.CauseMaintenance, o.Detail
	}
	end := o.End
	lo := o.Start.Add(interval)
	var running, shutdown int
	var lost, booted time.Time
	for k := range entries {
		e := &entries[k]
		if !e.Time.After(o.Start) || !end.IsZero() && !e.Time.Before(end) {
			continue
		}
		if e.Kind == qorgau.JournalTamperOpen {
			return qorgau.CauseTamper, "case opened at " + e.Time.UTC().Format(time.RFC3339)
		}
		if !booted.IsZero() {
			continue // after a new boot the terminal was back, not cut off
		}
		switch e.Kind {
		case qorgau.JournalBoot:
			booted = e.Time
		case qorgau.JournalShutdown:
			shutdown++
		case qorgau.JournalNetworkLost:
			if lost.IsZero() {
				lost = e.Time
			}
			running++
		case qorgau.JournalNetworkBack:
			running++
		case qorgau.JournalHeartbeat, qorgau.JournalSubmitted:
			if e.Time.After(lo) {
				running++
			}
		}
	}
	switch {
	case running > 0 && !lost.IsZero():
		return qorgau.CauseNetwork, fmt.Sprintf("journal: network lost at %s, %d entries while cut off", lost.UTC().Format(time.RFC3339), running)
	case running > 0:
		return qorgau.CauseNetwork, fmt.Sprintf("journal: %d entries while the server heard nothing", running)
	case shutdown > 0:
		return qorgau.CauseUnknown, "journal: the terminal was shut down"
	case !booted.IsZero():
		return qorgau.CausePower, "journal: booted again at " + booted.UTC().Format(time.RFC3339) + " without a shutdown"
	case bootAfter != "" && bootBefore != "" && bootAfter != bootBefore:
		return qorgau.CausePower, "restarted without a shutdown: new boot id"
	}
	return qorgau.CauseUnknown, o.Detail
}
