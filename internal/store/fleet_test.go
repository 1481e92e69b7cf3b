package store_test

import (
	"context"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestOutages(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		o := &qorgau.Outage{Device: "T-1", Facility: "EC-166-1", Start: t0, Cause: qorgau.CauseUnknown, Required: true}
		must(t, db.OpenOutage(ctx, o, t0.Add(-2*time.Minute), "boot-a"))
		if o.ID == 0 {
			t.Fatal("OpenOutage did not set the id")
		}
		if err := db.OpenOutage(ctx, &qorgau.Outage{Device: "T-1", Facility: "EC-166-1", Start: t0, Cause: qorgau.CauseUnknown}, t0, ""); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("second open outage = %v, want ECONFLICT", err)
		}
		states, err := db.DeviceStates(ctx)
		if err != nil || len(states) != 1 || states[0].Up || !states[0].Since.Equal(t0) || states[0].Boot != "boot-a" {
			t.Fatalf("DeviceStates = %+v, %v; want T-1 down since %v", states, err, t0)
		}
		open, err := db.Outages(ctx, qorgau.OutageFilter{OpenOnly: true})
		if err != nil || len(open) != 1 || !open[0].Open() {
			t.Fatalf("open outages = %+v, %v", open, err)
		}
		must(t, db.SetOutageCause(ctx, o.ID, qorgau.CauseNetwork, "journal shows network_lost"))
		end := t0.Add(30 * time.Minute)
		closed, err := db.CloseOutage(ctx, "T-1", end, "boot-a")
		if err != nil || !closed.End.Equal(end) || closed.Cause != qorgau.CauseNetwork || !closed.Required {
			t.Fatalf("CloseOutage = %+v, %v", closed, err)
		}
		if _, err := db.CloseOutage(ctx, "T-1", end, ""); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("closing again = %v, want ENOTFOUND", err)
		}
		states, _ = db.DeviceStates(ctx)
		if !states[0].Up || !states[0].Since.Equal(end) {
			t.Errorf("state after close = %+v, want up since %v", states[0], end)
		}
		// A camera of another region, to test the filters.
		must(t, db.OpenOutage(ctx, &qorgau.Outage{Device: "C-3", Facility: "SIZO-1", Start: t0.Add(time.Hour), Cause: qorgau.CauseUnknown}, t0, ""))
		for _, tt := range []struct {
			name string
			f    qorgau.OutageFilter
			want []string
		}{
			{"all", qorgau.OutageFilter{}, []string{"T-1", "C-3"}},
			{"region", qorgau.OutageFilter{Region: "KZ-71"}, []string{"C-3"}},
			{"facility", qorgau.OutageFilter{Facility: "EC-166-1"}, []string{"T-1"}},
			{"before the first", qorgau.OutageFilter{To: t0}, nil},
			{"after the first ended", qorgau.OutageFilter{From: end}, []string{"C-3"}},
			{"overlapping the first", qorgau.OutageFilter{From: t0.Add(time.Minute), To: t0.Add(2 * time.Minute)}, []string{"T-1"}},
		} {
			got, err := db.Outages(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.Device)
			}
			if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
				t.Errorf("Outages(%s) = %v, want %v", tt.name, ids, tt.want)
			}
		}
	})
}

// journal builds n chained entries after (seq, prev).
func journal(seq int64, prev string, at time.Time, kinds ...qorgau.JournalKind) []qorgau.JournalEntry {
	var list []qorgau.JournalEntry
	for i, k := range kinds {
		e := qorgau.JournalEntry{Seq: seq + 1, Time: at.Add(time.Duration(i) * time.Minute), Boot: "b1", Kind: k, Prev: prev}
		e.Hash = e.ComputeHash()
		list = append(list, e)
		seq, prev = e.Seq, e.Hash
	}
	return list
}

func TestJournal(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		seq, prev, err := db.JournalHead(ctx, "T-1")
		if err != nil || seq != 0 || prev != qorgau.JournalGenesis {
			t.Fatalf("JournalHead(empty) = %d %q %v", seq, prev, err)
		}
		first := journal(0, qorgau.JournalGenesis, t0, qorgau.JournalBoot, qorgau.JournalHeartbeat, qorgau.JournalNetworkLost)
		if n, err := db.AppendJournal(ctx, "T-1", first); err != nil || n != 3 {
			t.Fatalf("AppendJournal = %d, %v", n, err)
		}
		// Resending the same entries does not continue the chain.
		if _, err := db.AppendJournal(ctx, "T-1", first[1:]); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("AppendJournal(replay) = %v, want EINVALID", err)
		}
		forged := journal(3, "deadbeef", t0.Add(time.Hour), qorgau.JournalNetworkBack)
		if _, err := db.AppendJournal(ctx, "T-1", forged); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("AppendJournal(forged prev) = %v, want EINVALID", err)
		}
		seq, prev, _ = db.JournalHead(ctx, "T-1")
		if seq != 3 || prev != first[2].Hash {
			t.Fatalf("head after refused appends = %d %s, want 3 %s", seq, prev, first[2].Hash)
		}
		more := journal(3, prev, t0.Add(time.Hour), qorgau.JournalNetworkBack)
		if n, err := db.AppendJournal(ctx, "T-1", more); err != nil || n != 4 {
			t.Fatalf("AppendJournal(next) = %d, %v", n, err)
		}
		got, err := db.Journal(ctx, "T-1", t0.Add(time.Minute), t0.Add(2*time.Hour))
		if err != nil || len(got) != 3 || got[0].Kind != qorgau.JournalHeartbeat || got[2].Kind != qorgau.JournalNetworkBack || got[2].Hash != more[0].Hash {
			t.Fatalf("Journal = %+v, %v", got, err)
		}
		// After a restore the server holds 4; the terminal's file starts
		// after entry 9. With after the entries chain to it and 5–9 are
		// reported lost; an after the server already holds changes nothing.
		gone := journal(4, more[0].Hash, t0.Add(2*time.Hour), qorgau.JournalHeartbeat, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat, qorgau.JournalHeartbeat)
		nine := qorgau.JournalLink{Seq: 9, Hash: gone[4].Hash}
		kept := journal(9, nine.Hash, t0.Add(3*time.Hour), qorgau.JournalHeartbeat)
		if _, _, err := db.AppendJournalAfter(ctx, "T-1", qorgau.JournalLink{Seq: 3, Hash: first[2].Hash}, kept); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("AppendJournalAfter(an after the server holds, entries not chaining to its head) = %v, want EINVALID", err)
		}
		if n, lost, err := db.AppendJournalAfter(ctx, "T-1", nine, kept); err != nil || n != 10 || lost != 5 {
			t.Fatalf("AppendJournalAfter(gap) = %d, %d, %v; want 10, 5", n, lost, err)
		}
		next := journal(10, kept[0].Hash, t0.Add(4*time.Hour), qorgau.JournalHeartbeat)
		if n, lost, err := db.AppendJournalAfter(ctx, "T-1", nine, next); err != nil || n != 11 || lost != 0 {
			t.Fatalf("AppendJournalAfter(no gap) = %d, %d, %v; want 11, 0", n, lost, err)
		}
	})
}

func TestUsageSourcesMaintenanceAlarms(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }

		u := &qorgau.UsageReport{Day: "2026-11-23", Reached: map[string]int{"start": 10, "language": 8}, Abandoned: map[string]int{"language": 2}}
		must(t, db.SaveUsage(ctx, "T-1", u))
		u.Reached["start"] = 12
		must(t, db.SaveUsage(ctx, "T-1", u))
		got, err := db.Usage(ctx, "T-1", "2026-11-23")
		if err != nil || got.Reached["start"] != 12 || got.Reached["language"] != 8 || got.Abandoned["language"] != 2 || len(got.Abandoned) != 1 {
			t.Errorf("Usage = %+v, %v", got, err)
		}
		must(t, db.SaveUsage(ctx, "T-1", &qorgau.UsageReport{Day: "2026-11-24", Reached: map[string]int{"start": 3, "sent": 1}, Abandoned: map[string]int{}}))
		must(t, db.SaveUsage(ctx, "T-1", &qorgau.UsageReport{Day: "2026-12-01", Reached: map[string]int{"start": 100}, Abandoned: map[string]int{}}))
		sum, err := db.FacilityUsage(ctx, "EC-166-1", "2026-11-23", "2026-11-24")
		if err != nil || len(sum) != 3 || sum[0] != (store.StepUsage{Step: "start", Reached: 15}) ||
			sum[1] != (store.StepUsage{Step: "language", Reached: 8, Abandoned: 2}) || sum[2].Step != "sent" {
			t.Errorf("FacilityUsage = %+v, %v; want start 15, language 8/2, sent 1 in step order", sum, err)
		}
		if sum, _ := db.FacilityUsage(ctx, "SIZO-1", "2026-11-01", "2026-12-31"); len(sum) != 0 {
			t.Errorf("FacilityUsage of a facility without terminals = %+v", sum)
		}
		if err := db.SaveUsage(ctx, "T-1", &qorgau.UsageReport{Day: "yesterday"}); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SaveUsage(bad day) = %v", err)
		}

		src := &qorgau.CameraSource{Name: "vms-karaganda", Region: "KZ-35"}
		must(t, db.CreateCameraSource(ctx, src, "hash-1", &qorgau.AuditRecord{Actor: "cli:test", Action: qorgau.AuditSourceAdded, Target: src.Name}))
		if err := db.CreateCameraSource(ctx, &qorgau.CameraSource{Name: "vms-karaganda"}, "hash-2", nil); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("duplicate source name = %v, want ECONFLICT", err)
		}
		if err := db.CreateCameraSource(ctx, &qorgau.CameraSource{Name: "x", Facility: "NOPE"}, "hash-3", nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("source of an unknown facility = %v, want EINVALID", err)
		}
		s, err := db.CameraSourceByToken(ctx, "hash-1")
		if err != nil || s.Name != "vms-karaganda" || s.Region != "KZ-35" || s.Facility != "" {
			t.Fatalf("CameraSourceByToken = %+v, %v", s, err)
		}
		must(t, db.RevokeCameraSource(ctx, "vms-karaganda", nil))
		if _, err := db.CameraSourceByToken(ctx, "hash-1"); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
			t.Errorf("revoked token = %v, want EUNAUTHORIZED", err)
		}
		if list, _ := db.CameraSources(ctx); len(list) != 1 || !list[0].Revoked {
			t.Errorf("CameraSources = %+v", list)
		}

		m := &qorgau.Maintenance{Facility: "EC-166-1", Device: "T-1", From: now.Add(time.Hour), To: now.Add(3 * time.Hour), Reason: "replace screen", DeclaredBy: "u-liaison"}
		must(t, db.DeclareMaintenance(ctx, m, nil))
		for name, bad := range map[string]*qorgau.Maintenance{
			"past":           {Facility: "EC-166-1", From: now.Add(-time.Hour), To: now.Add(time.Hour), Reason: "x"},
			"no reason":      {Facility: "EC-166-1", From: now.Add(time.Hour), To: now.Add(2 * time.Hour)},
			"other facility": {Facility: "SIZO-1", Device: "T-1", From: now.Add(time.Hour), To: now.Add(2 * time.Hour), Reason: "x"},
			"backwards":      {Facility: "EC-166-1", From: now.Add(2 * time.Hour), To: now.Add(time.Hour), Reason: "x"},
		} {
			if err := db.DeclareMaintenance(ctx, bad, nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("DeclareMaintenance(%s) = %v, want EINVALID", name, err)
			}
		}
		ws, err := db.MaintenanceWindows(ctx, "EC-166-1", now, now.Add(2*time.Hour))
		if err != nil || len(ws) != 1 || ws[0].Reason != "replace screen" || !ws[0].Covers("EC-166-1", "T-1", now.Add(90*time.Minute)) {
			t.Errorf("MaintenanceWindows = %+v, %v", ws, err)
		}
		if ws, _ := db.MaintenanceWindows(ctx, "", now.Add(4*time.Hour), now.Add(5*time.Hour)); len(ws) != 0 {
			t.Errorf("MaintenanceWindows after the window = %+v", ws)
		}

		must(t, db.AddFleetAlarm(ctx, &qorgau.FleetAlarm{Device: "T-1", Facility: "EC-166-1", Kind: qorgau.AlarmJournalBroken, Detail: "entry 4"}))
		al, err := db.FleetAlarms(ctx, "EC-166-1", 10)
		if err != nil || len(al) != 1 || al[0].Kind != qorgau.AlarmJournalBroken || !al[0].Time.Equal(now) {
			t.Errorf("FleetAlarms = %+v, %v", al, err)
		}
		if al, _ := db.FleetAlarms(ctx, "SIZO-1", 10); len(al) != 0 {
			t.Errorf("FleetAlarms(SIZO-1) = %+v", al)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
