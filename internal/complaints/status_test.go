package complaints_test

import (
	"context"
	"fmt"
	"os"
	"sync"
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

// logKey is the test log's signing key, one for every server of a test.
var logKey = sync.OnceValues(func() (string, string) {
	skey, vkey, err := tlog.GenerateKey("qorgau.test/log")
	if err != nil {
		panic(err)
	}
	return skey, vkey
})

func logConfig() tlog.Config {
	skey, vkey := logKey()
	signer, _, _ := tlog.NewSigner(skey)
	return tlog.Config{Origin: "qorgau.test/log", Signer: signer, VerifierKey: vkey}
}

// twoBodies starts a log over db with a facility F in KZ-35 and two bodies,
// the region's prosecutor P and the NPM N. The log stops with the test.
func twoBodies(t *testing.T, db *store.DB) (context.Context, *tlog.Log) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	lg, err := tlog.Open(ctx, db, logConfig())
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
		if err := svc.Transition(ctx, 0, "P", qorgau.StateAnswered, "m", []byte("sealed")); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("answering a complaint never registered = %v, want ECONFLICT", err)
		}
		for _, st := range []qorgau.ComplaintState{qorgau.StateRegistered, qorgau.StateAnswered} {
			if err := svc.Transition(ctx, 0, "P", st, "m", nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.Transition(ctx, 0, "X", qorgau.StateRegistered, "m", nil); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
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
		if err := svc.Transition(ctx, 1, "N", qorgau.StateRegistered, "m", nil); err != nil {
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

// TestEventFacts checks that the facts of an event are stored as fields,
// for the readers to word in their language, while the status leaf keeps
// its exact bytes.
// TestDeadlinesOnStandby checks that on a standby of the log (several
// servers on one database) the deadline sweep records nothing and reports
// no error, which serve would log every time a term passes; the
// sequencer records the overdue event.
func TestDeadlinesOnStandby(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx, lg := twoBodies(t, db)
		// Opened before the append: a standby's Open signs the
		// checkpoint of leaves it finds beyond the latest one, which the
		// sequencer is about to store with its next batch.
		cfg := logConfig()
		cfg.Standby = true
		standby, err := tlog.Open(ctx, db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		delivered := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		cal := qorgau.NewCalendar(time.UTC, qorgau.KazakhstanHolidays(time.UTC, 2026))
		rules := qorgau.KazakhstanRules()
		due := rules.Due(cal, delivered)
		rc, err := lg.Append(ctx, tlog.Entry{Kind: complaints.KindComplaint, IdempotencyID: "c0", Object: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SaveComplaint(ctx, &store.Complaint{ID: rc.Index, Idem: "c0", Device: "T", Facility: "F", Region: "KZ-35",
			Category: qorgau.CategoryMedical, LookupID: "00", Received: delivered,
			Bodies: []store.ComplaintBody{{Body: "P", State: qorgau.StateDelivered, Delivered: delivered, Due: due}}}); err != nil {
			t.Fatal(err)
		}
		on := func(l *tlog.Log) *complaints.Service {
			return &complaints.Service{DB: db, Log: l, Rules: rules, Calendar: cal, Now: func() time.Time { return due.Add(time.Minute) }}
		}
		if n, err := on(standby).SweepDeadlines(ctx); err != nil || n != 0 {
			t.Errorf("SweepDeadlines on a standby = %d, %v; want 0, nil", n, err)
		}
		if n, err := on(lg).SweepDeadlines(ctx); err != nil || n != 1 {
			t.Errorf("SweepDeadlines on the sequencer = %d, %v; want 1", n, err)
		}
	})
}

func TestEventFacts(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx, lg := twoBodies(t, db)
		delivered := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		now := delivered
		cal := qorgau.NewCalendar(time.UTC, qorgau.KazakhstanHolidays(time.UTC, 2026))
		svc := &complaints.Service{DB: db, Log: lg, Rules: qorgau.KazakhstanRules(), Calendar: cal, Now: func() time.Time { return now }}
		due := svc.Rules.Due(cal, delivered)
		rc, err := lg.Append(ctx, tlog.Entry{Kind: complaints.KindComplaint, IdempotencyID: "c0", Object: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		c := &store.Complaint{ID: rc.Index, Idem: "c0", Device: "T", Facility: "F", Region: "KZ-35", Category: qorgau.CategoryMedical, LookupID: "00", Received: delivered}
		for _, b := range []string{"P", "N"} {
			c.Bodies = append(c.Bodies, store.ComplaintBody{Body: b, State: qorgau.StateDelivered, Delivered: delivered, Due: due})
		}
		if err := db.SaveComplaint(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, st := range []qorgau.ComplaintState{qorgau.StateRegistered, qorgau.StateAnswered} {
			if err := svc.Transition(ctx, 0, "P", st, "m", nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.AnswerRead(ctx, 0, "P", "T-7"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Close(ctx, 0, "P", "m", "won", nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("Close with outcome won = %v, want EINVALID", err)
		}
		if err := svc.Close(ctx, 0, "P", "m", qorgau.OutcomeUpheld, []qorgau.Evidence{"rumour"}); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("Close with evidence rumour = %v, want EINVALID", err)
		}
		if err := svc.Close(ctx, 0, "P", "m", qorgau.OutcomeUpheld, []qorgau.Evidence{qorgau.EvidenceMedical, qorgau.EvidenceFootage}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Transition(ctx, 0, "N", qorgau.StateRegistered, "n", nil); err != nil {
			t.Fatal(err)
		}
		// The term ends at midnight in the calendar's zone (UTC here), after
		// its last day, which the history names.
		newDue := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
		if err := svc.Extend(ctx, 0, "N", newDue, "n", "нужна экспертиза: ждём"); err != nil {
			t.Fatal(err)
		}
		now = newDue.Add(time.Hour)
		if n, err := svc.SweepDeadlines(ctx); err != nil || n != 1 {
			t.Fatalf("sweep = %d, %v; want 1", n, err)
		}
		evs, err := db.ComplaintEvents(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		type facts struct {
			Body                string
			State               qorgau.ComplaintState
			Event, Reason, Term string
			Outcome             qorgau.Outcome
			Evidence            string
			Device              string
		}
		var got []facts
		for _, e := range evs {
			f := facts{Body: e.Body, State: e.State, Event: e.Event, Reason: e.Reason, Term: e.Term, Outcome: e.Outcome, Device: e.Device}
			for _, k := range e.Evidence {
				f.Evidence += string(k) + " "
			}
			got = append(got, f)
		}
		want := []facts{
			{Body: "P", State: qorgau.StateRegistered},
			{Body: "P", State: qorgau.StateAnswered},
			{Body: "P", State: qorgau.StateAnswerDelivered, Device: "T-7"},
			{Body: "P", State: qorgau.StateClosed, Outcome: qorgau.OutcomeUpheld, Evidence: "medical footage "},
			{Body: "N", State: qorgau.StateRegistered},
			{Body: "N", State: qorgau.StateExtended, Reason: "нужна экспертиза: ждём", Term: "2026-12-30"},
			{Body: "N", State: qorgau.StateExtended, Event: qorgau.EventOverdue, Term: "2026-12-30"},
		}
		if len(got) != len(want) {
			t.Fatalf("events = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		// The closing's leaf, byte for byte.
		_, obj, err := lg.Object(ctx, evs[3].LogIndex)
		if err != nil {
			t.Fatal(err)
		}
		if w := fmt.Sprintf("qorgau-status/v1\ncomplaint 0\nbody P\nfrom answer-delivered\nstate closed\nactor m\nat %d\nreply \n", delivered.Unix()); string(obj) != w {
			t.Errorf("closing leaf = %q, want %q", obj, w)
		}
		_, obj, err = lg.Object(ctx, evs[6].LogIndex)
		if w := fmt.Sprintf("qorgau-status/v1\ncomplaint 0\nbody N\nfrom \nevent overdue\nactor system\nat %d\nreply \n", now.Unix()); err != nil || string(obj) != w {
			t.Errorf("overdue leaf = %q, %v; want %q", obj, err, w)
		}
	})
}
