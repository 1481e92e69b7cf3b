package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestEventFactsMigration moves the facts that the service wrote into a
// complaint event's detail as English text into the fields of 0016; text
// that does not match stays as the reason.
func TestEventFactsMigration(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db := dbBefore(t, engine, "event_facts")
			at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
			if _, err := db.w.ExecContext(ctx, `INSERT INTO complaints (id, idem, device, facility, region, category, urgent, test, lookup_id, received_at)
				VALUES (0, 'c0', 'T-1', 'F', 'KZ-35', 'medical', FALSE, FALSE, '00', $1)`, at); err != nil {
				t.Fatal(err)
			}
			old := []struct {
				body, state, event, detail string
			}{
				{"P", "registered", "", "opened"},
				{"P", "extended", "", "until 2026-12-31: ждём экспертизу: её назначили"},
				{"P", "redirected", "", "to PROS-KZ-71: не наша подсудность"},
				{"N", "answer-delivered", "", "read at KRG-001-T1"},
				{"N", "closed", "", "outcome partly-upheld; evidence medical,footage"},
				{"N", "closed", "", "outcome withdrawn; evidence "},
				{"P", "extended", "overdue", "no answer by 2026-12-31 19:00 UTC"},
				{"N", "closed", "overdue", "no answer by 2027-01-01 00:00 +05"},
				{"P", "registered", "", "opened twice"},
				{"P", "extended", "", "until tomorrow: a member's words"},
				{"P", "closed", "", "to be continued"},
			}
			for i, e := range old {
				if _, err := db.w.ExecContext(ctx, `INSERT INTO complaint_events (complaint, body, at, actor, state, event, detail, log_index)
					VALUES (0, $1, $2, 'm', $3, $4, $5, $6)`, e.body, at.Add(time.Duration(i)*time.Minute), e.state, e.event, e.detail, i+1); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate = %v", err)
			}
			evs, err := db.ComplaintEvents(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"registered reason= term= to= outcome= evidence=[] device=",
				"extended reason=ждём экспертизу: её назначили term=2026-12-31 to= outcome= evidence=[] device=",
				"redirected reason=не наша подсудность term= to=PROS-KZ-71 outcome= evidence=[] device=",
				"answer-delivered reason= term= to= outcome= evidence=[] device=KRG-001-T1",
				"closed reason= term= to= outcome=partly-upheld evidence=[medical footage] device=",
				"closed reason= term= to= outcome=withdrawn evidence=[] device=",
				"extended/overdue reason= term=2026-12-31 to= outcome= evidence=[] device=",
				// PostgreSQL gave the time in the server process's zone:
				// its day is taken in UTC. SQLite's times are UTC.
				map[string]string{"postgres": "closed/overdue reason= term=2026-12-31 to= outcome= evidence=[] device=",
					"sqlite": "closed/overdue reason= term=2027-01-01 to= outcome= evidence=[] device="}[engine],
				"registered reason=opened twice term= to= outcome= evidence=[] device=",
				"extended reason=until tomorrow: a member's words term= to= outcome= evidence=[] device=",
				"closed reason=to be continued term= to= outcome= evidence=[] device=",
			}
			if len(evs) != len(want) {
				t.Fatalf("%d events after the migration, want %d", len(evs), len(want))
			}
			for i, e := range evs {
				st := string(e.State)
				if e.Event != "" {
					st += "/" + e.Event
				}
				got := fmt.Sprintf("%s reason=%s term=%s to=%s outcome=%s evidence=%v device=%s", st, e.Reason, e.Term, e.To, e.Outcome, e.Evidence, e.Device)
				if got != want[i] {
					t.Errorf("event %d (%q) = %s, want %s", i, old[i].detail, got, want[i])
				}
			}
		})
	}
}
