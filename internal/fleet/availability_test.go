package fleet

import (
	"context"
	"testing"
	"time"

	"qorgau.kz/qorgau"
)

func TestRequiredOverlap(t *testing.T) {
	day := qorgau.Schedule{Ranges: []qorgau.MinuteRange{{Start: 8 * 60, End: 20 * 60}}}
	night := qorgau.Schedule{Ranges: []qorgau.MinuteRange{{Start: 20 * 60, End: 8 * 60}}}
	split := qorgau.Schedule{Ranges: []qorgau.MinuteRange{{Start: 8 * 60, End: 13 * 60}, {Start: 14 * 60, End: 18 * 60}}}
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, kz) }
	tests := []struct {
		name     string
		sch      qorgau.Schedule
		from, to time.Time
		want     time.Duration
	}{
		{"24/7", qorgau.AlwaysRequired, at(23, 3, 0), at(23, 5, 30), 150 * time.Minute},
		{"inside day hours", day, at(23, 9, 0), at(23, 10, 0), time.Hour},
		{"across the evening", day, at(23, 19, 0), at(23, 22, 0), time.Hour},
		{"a whole day", day, at(23, 0, 0), at(24, 0, 0), 12 * time.Hour},
		{"a week", day, at(23, 0, 0), at(30, 0, 0), 7 * 12 * time.Hour},
		{"night across midnight", night, at(23, 22, 0), at(24, 2, 0), 4 * time.Hour},
		{"night from the day before", night, at(24, 6, 0), at(24, 9, 0), 2 * time.Hour},
		{"split hours at lunch", split, at(23, 12, 0), at(23, 15, 0), 2 * time.Hour},
		{"empty period", day, at(23, 9, 0), at(23, 9, 0), 0},
		{"UTC input", day, time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequiredOverlap(tt.sch, tt.from, tt.to, kz); got != tt.want {
				t.Errorf("RequiredOverlap = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAvailabilityReport causes known outages and checks the report's
// numbers against them.
func TestAvailabilityReport(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, Config{CheckTargetEvery: 48 * time.Hour})
	from := t0
	// The terminal (required 08:00-20:00) is silent 10:00-11:00 (a 2 min
	// detection does not change the start), C-1 (24/7) 10:00-10:30 in
	// declared maintenance, C-2 beats all the time.
	m := qorgau.Maintenance{Facility: "EC-166-1", Device: "C-1", From: t0.Add(time.Second), To: t0.Add(time.Hour), Reason: "lens", DeclaredBy: "l"}
	must(t, w.db.DeclareMaintenance(ctx, &m, nil))
	must(t, w.tr.MaintenanceDeclared(ctx, m))
	w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
	w.beat("C-1")
	for w.now.Before(t0.Add(2 * time.Hour)) {
		w.beat("C-2")
		if w.now.Equal(t0.Add(30 * time.Minute)) {
			w.beat("C-1")
		}
		if !w.now.Before(t0.Add(30 * time.Minute)) {
			w.beat("C-1")
		}
		if !w.now.Before(t0.Add(time.Hour)) {
			w.heartbeat(qorgau.Heartbeat{Boot: "b1"})
		}
		w.advance(10 * time.Second)
	}
	to := from.Add(2 * time.Hour)
	rep, err := w.tr.Availability(ctx, from, to, "")
	must(t, err)
	byKey := map[string]Availability{}
	for _, a := range append(append(rep.Facilities, rep.Regions...), rep.Devices...) {
		byKey[a.Key] = a
	}
	ec := byKey["EC-166-1"]
	if ec.Devices != 2 || ec.Required != 4*time.Hour || ec.Down != time.Hour || ec.Maintenance != 30*time.Minute || ec.Outages != 2 {
		t.Errorf("EC-166-1 = %+v, want 2 devices, 4 h required, 1 h down, 30 min maintenance, 2 outages", ec)
	}
	if got, want := ec.Percent(), 62.5; got != want {
		t.Errorf("EC-166-1 availability = %v %%, want %v %%", got, want)
	}
	if s := byKey["SIZO-1"]; s.Down != 0 || s.Share() != 1 || s.Required != 2*time.Hour {
		t.Errorf("SIZO-1 = %+v, want 2 h required, all available", s)
	}
	if d := byKey["T-1"]; d.Down != time.Hour || d.Facility != "EC-166-1" {
		t.Errorf("T-1 line = %+v", d)
	}
	if rep.Total.Required != 6*time.Hour || rep.Total.Down != time.Hour {
		t.Errorf("total = %+v", rep.Total)
	}
	// Time before the watch began is neither available nor down: a report
	// that starts a day earlier requires the same hours.
	rep, err = w.tr.Availability(ctx, from.Add(-24*time.Hour), to, "")
	must(t, err)
	if rep.Total.Required != 6*time.Hour || rep.Total.Down != time.Hour {
		t.Errorf("total from a day before the watch = %+v, want the same 6 h required, 1 h down", rep.Total)
	}
	rep, _ = w.tr.Availability(ctx, from, to, "KZ-71")
	if len(rep.Facilities) != 1 || rep.Facilities[0].Key != "SIZO-1" || len(rep.Devices) != 0 {
		t.Errorf("report of KZ-71 = %+v", rep)
	}
}

// TestAvailabilityFromWatchStart counts a device added to the registry
// while serving from when the watch picked it up.
func TestAvailabilityFromWatchStart(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, Config{CheckTargetEvery: 48 * time.Hour})
	w.advance(time.Hour)
	must(t, w.db.SaveDevices(ctx, []qorgau.Device{{ID: "C-3", Kind: qorgau.DeviceCamera, Facility: "SIZO-1", Interval: 30}}, nil))
	must(t, w.tr.Reload(ctx))
	for range 360 {
		w.beat("C-2")
		w.beat("C-3")
		w.advance(10 * time.Second)
	}
	rep, err := w.tr.Availability(ctx, t0, t0.Add(2*time.Hour), "KZ-71")
	must(t, err)
	if len(rep.Facilities) != 1 || rep.Facilities[0].Devices != 2 || rep.Facilities[0].Required != 3*time.Hour {
		t.Fatalf("SIZO-1 = %+v, want 2 devices and 3 h required (C-2 2 h, C-3 1 h since it was added)", rep.Facilities)
	}
	// A restart keeps the time the watch began.
	w.load(Config{CheckTargetEvery: 48 * time.Hour})
	rep, _ = w.tr.Availability(ctx, t0, t0.Add(2*time.Hour), "KZ-71")
	if rep.Facilities[0].Required != 3*time.Hour {
		t.Errorf("after a restart SIZO-1 requires %v, want 3 h", rep.Facilities[0].Required)
	}
}
