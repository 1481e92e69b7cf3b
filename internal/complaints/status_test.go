package complaints_test

import (
	"context"
	"os"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
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

// twoBodies starts a log over db with a facility F in KZ-35 and two bodies,
// the region's prosecutor P and the NPM N. The log stops with the test.
func twoBodies(t *testing.T, db *store.DB) (context.Context, *tlog.Log) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	skey, vkey, _ := tlog.GenerateKey("qorgau.test/log")
	signer, _, _ := tlog.NewSigner(skey)
	lg, err := tlog.Open(ctx, db, tlog.Config{Origin: "qorgau.test/log", Signer: signer, VerifierKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	go lg.Run(ctx)
	if err := db.SaveFacilities(ctx, []qorgau.Facility{{Code: "F", Name: "F", Region: "KZ-35", Type: qorgau.ColonyMedium, Authority: "A"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveBodies(ctx, []qorgau.Body{
		{Code: "P", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "p", NameRU: "p", NameEN: "p"},
		{Code: "N", Kind: qorgau.BodyNPM, NameKK: "n", NameRU: "n", NameEN: "n"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	return ctx, lg
}

// TestDeadlines checks the statutory clock: a copy left unanswered past its
// term gets one overdue event, recorded as a status leaf of the log; an
// answered copy gets none; the state machine refuses impossible moves.
func TestDeadlines(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx, lg := twoBodies(t, db)
		delivered := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // Monday
		now := delivered
		cal := qorgau.NewCalendar(time.UTC, qorgau.KazakhstanHolidays(time.UTC, 2026))
		svc := &complaints.Service{DB: db, Log: lg, Rules: qorgau.KazakhstanRules(), Calendar: cal, Now: func() time.Time { return now }}
		due := svc.Rules.Due(cal, delivered)
		// Two complaints logged as terminals would, to P and N.
		for i := int64(0); i < 2; i++ {
			rc, err := lg.Append(ctx, tlog.Entry{Kind: complaints.KindComplaint, IdempotencyID: "c" + string(rune('0'+i)), Object: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			c := &store.Complaint{ID: rc.Index, Idem: "c" + string(rune('0'+i)), Device: "T", Facility: "F", Region: "KZ-35",
				Category: qorgau.CategoryMedical, LookupID: "00", Received: delivered}
			for _, b := range []string{"P", "N"} {
				c.Bodies = append(c.Bodies, store.ComplaintBody{Body: b, State: qorgau.StateDelivered, Delivered: delivered, Due: due})
			}
			if err := db.SaveComplaint(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// P registers and answers complaint 0 in time.
		if err := svc.Transition(ctx, 0, "P", qorgau.StateAnswered, "m", "", []byte("sealed")); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("answering a complaint never registered = %v, want ECONFLICT", err)
		}
		for _, st := range []qorgau.ComplaintState{qorgau.StateRegistered, qorgau.StateAnswered} {
			if err := svc.Transition(ctx, 0, "P", st, "m", "", nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.Transition(ctx, 0, "X", qorgau.StateRegistered, "m", "", nil); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("a body the complaint was not sent to = %v, want ENOTFOUND", err)
		}

		// N extends complaint 1: a reason is required, the bound holds, and
		// the new term replaces the old.
		if err := svc.Extend(ctx, 1, "N", due.AddDate(0, 0, 10), "m", "short"); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("extension without a motivated reason = %v, want EINVALID", err)
		}
		if err := svc.Extend(ctx, 1, "N", due.AddDate(0, 3, 0), "m", "waiting for the medical examination"); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("extension by three months = %v, want EINVALID (at most two)", err)
		}
		newDue := due.AddDate(0, 0, 20)
		if err := svc.Extend(ctx, 1, "N", newDue, "m", "waiting for the medical examination"); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("extending a copy never registered = %v, want ECONFLICT", err)
		}
		if err := svc.Transition(ctx, 1, "N", qorgau.StateRegistered, "m", "", nil); err != nil {
			t.Fatal(err)
		}
		if err := svc.Extend(ctx, 1, "N", newDue, "m", "waiting for the medical examination"); err != nil {
			t.Fatalf("extension = %v", err)
		}
		if c, _ := db.Complaint(ctx, 1); c.Bodies[0].Body != "N" || !c.Bodies[0].Due.Equal(newDue) || c.Bodies[0].State != qorgau.StateExtended {
			t.Errorf("after the extension N's copy = %+v, want extended until %s", c.Bodies[0], newDue)
		}

		// On the last day of the term nothing is overdue.
		now = due.Add(-time.Minute)
		if n, err := svc.SweepDeadlines(ctx); err != nil || n != 0 {
			t.Fatalf("sweep on the last day = %d, %v; want 0", n, err)
		}
		// After it, two copies are: N's of complaint 0 and P's of complaint 1;
		// N's copy of complaint 1 was extended.
		now = due.Add(time.Minute)
		if n, err := svc.SweepDeadlines(ctx); err != nil || n != 2 {
			t.Fatalf("sweep after the term = %d, %v; want 2", n, err)
		}
		if n, err := svc.SweepDeadlines(ctx); err != nil || n != 0 {
			t.Errorf("second sweep = %d, %v; want 0 (one overdue event per copy)", n, err)
		}
		now = newDue.Add(time.Minute)
		if n, err := svc.SweepDeadlines(ctx); err != nil || n != 1 {
			t.Errorf("sweep after the extended term = %d, %v; want 1", n, err)
		}
		evs, err := db.ComplaintEvents(ctx, 1)
		overdue := 0
		for _, e := range evs {
			if e.Event == qorgau.EventOverdue {
				overdue++
				if e.Body == "N" && e.State != qorgau.StateExtended || e.Body == "P" && e.State != qorgau.StateDelivered {
					t.Errorf("overdue event %+v changed or misreports the state", e)
				}
			}
		}
		if err != nil || overdue != 2 {
			t.Errorf("events of complaint 1 = %+v, %v; want two overdue events", evs, err)
		}
		// 2 complaint leaves + 3 transitions + 1 extension + 3 overdue events.
		if got := lg.Size(); got != 9 {
			t.Errorf("log size = %d, want 9 (every change and event is a leaf)", got)
		}
		_, obj, err := lg.Object(ctx, evs[0].LogIndex)
		if err != nil || string(obj[:16]) != "qorgau-status/v1" {
			t.Errorf("the overdue event's leaf object = %q, %v", obj, err)
		}
	})
}
