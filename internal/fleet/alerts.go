package fleet

import (
	"context"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
)

// notify tells the region's prosecutor and the NPM of n, once per n.Key.
// Without a Notifier the notice is logged.
func (t *Tracker) notify(ctx context.Context, fi int32, n *qorgau.Notice) error {
	r := t.reg.Load()
	t.mu.Lock()
	if _, done := t.alerted[n.Key]; done {
		t.mu.Unlock()
		return nil
	}
	t.alerted[n.Key] = t.Now()
	t.mu.Unlock()
	f := r.facilities[fi]
	n.Facility, n.Region = f.Code, f.Region
	n.Bodies = append([]string(nil), f.Bodies...)
	if n.Time.IsZero() {
		n.Time = t.Now()
	}
	t.cfg.Logger.Warn("fleet alert", "kind", n.Kind, "facility", n.Facility, "device", n.Device, "bodies", n.Bodies, "text", n.Text)
	if t.cfg.Notifier == nil {
		return nil
	}
	if err := t.cfg.Notifier.Notify(ctx, n); err != nil {
		t.mu.Lock()
		delete(t.alerted, n.Key) // try again next sweep
		t.mu.Unlock()
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	return nil
}

// raise records an alarm that a heartbeat revealed and tells the bodies.
func (t *Tracker) raise(ctx context.Context, e event) error {
	r := t.reg.Load()
	fi := r.facility[e.device]
	a := &qorgau.FleetAlarm{Time: e.at, Device: r.ids[e.device], Facility: r.facilities[fi].Code, Kind: e.kind, Detail: e.detail}
	if err := t.db.AddFleetAlarm(ctx, a); err != nil {
		return err
	}
	kind := qorgau.NoticeTamper
	if e.kind == qorgau.AlarmLogRollback {
		kind = qorgau.NoticeLogRollback
	}
	return t.notify(ctx, fi, &qorgau.Notice{
		Time: e.at, Kind: kind, Device: a.Device,
		Key:  fmt.Sprintf("%s/%s/%s", kind, a.Device, e.at.UTC().Format(time.RFC3339)),
		Text: fmt.Sprintf("Terminal %s at %s: %s.", a.Device, a.Facility, e.detail),
	})
}

// RecordAlarm stores an alarm the web layer found (a broken journal chain)
// and tells the bodies of the device's facility.
func (t *Tracker) RecordAlarm(ctx context.Context, device string, kind qorgau.AlarmKind, detail string) error {
	r := t.reg.Load()
	i, ok := r.index[device]
	if !ok {
		return qorgau.Errorf(qorgau.ENOTFOUND, "unknown device %q", device)
	}
	return t.raise(ctx, event{kind: kind, device: i, at: t.Now(), detail: detail})
}

// alertLongOutages tells the bodies of terminals down longer than
// AlertAfter within their required hours, except for declared
// maintenance.
func (t *Tracker) alertLongOutages(ctx context.Context, now time.Time) error {
	r := t.reg.Load()
	type due struct {
		i int32
		o qorgau.Outage
	}
	var list []due
	t.mu.Lock()
	for i, o := range t.open {
		if o.alerted || r.kind[i] != qorgau.DeviceTerminal || o.Cause == qorgau.CauseMaintenance {
			continue
		}
		if RequiredOverlap(r.schedules[r.schedule[i]], o.Start, now, t.cfg.Location) > t.cfg.AlertAfter {
			o.alerted = true
			list = append(list, due{i, o.Outage})
		}
	}
	t.mu.Unlock()
	var firstErr error
	for _, d := range list {
		err := t.notify(ctx, r.facility[d.i], &qorgau.Notice{
			Time: now, Kind: qorgau.NoticeTerminalDown, Device: d.o.Device,
			Key: fmt.Sprintf("terminal_down/%s/%s", d.o.Device, d.o.Start.UTC().Format(time.RFC3339)),
			Text: fmt.Sprintf("Terminal %s at %s has been silent since %s (cause so far: %s), longer than %s in its required hours.",
				d.o.Device, d.o.Facility, d.o.Start.UTC().Format(time.RFC3339), d.o.Cause, t.cfg.AlertAfter),
		})
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// checkTargets tells the bodies of each facility whose availability over
// the last 24 h fell below the target, once per facility and local day.
func (t *Tracker) checkTargets(ctx context.Context, now time.Time) error {
	r := t.reg.Load()
	from := now.Add(-24 * time.Hour)
	outages, err := t.db.Outages(ctx, qorgau.OutageFilter{From: from, To: now})
	if err != nil {
		return err
	}
	rep := t.report(outages, from, now, "", now)
	t.mu.Lock()
	for k, at := range t.alerted {
		if now.Sub(at) > 48*time.Hour {
			delete(t.alerted, k)
		}
	}
	t.mu.Unlock()
	day := now.In(t.cfg.Location).Format(time.DateOnly)
	var firstErr error
	for k := range rep.Facilities {
		f := &rep.Facilities[k]
		if f.Share() >= t.cfg.Target {
			continue
		}
		err := t.notify(ctx, r.facIndex[f.Key], &qorgau.Notice{
			Time: now, Kind: qorgau.NoticeBelowTarget,
			Key: fmt.Sprintf("below_target/%s/%s", f.Key, day),
			Text: fmt.Sprintf("Facility %s was available %.2f %% of its required hours over the last 24 h; the target is %.2f %%.",
				f.Key, f.Percent(), t.cfg.Target*100),
		})
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
