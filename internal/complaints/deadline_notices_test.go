package complaints_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/notify"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// TestDeadlineNotices checks that the deadline worker raises a due_soon
// notice exactly for the copies the inbox shows as due soon, on the
// working-day calendar, and an overdue notice for each overdue copy: each
// once per complaint and body, however often it runs.
func TestDeadlineNotices(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx, lg := twoBodies(t, db)
		// Friday 27 November 2026, 10:00: two weekend days lie ahead.
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		cal := qorgau.NewCalendar(time.UTC, qorgau.KazakhstanHolidays(time.UTC, 2026))
		rules := qorgau.KazakhstanRules()
		rules.DueSoonDays = 2
		notifier := notify.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), notify.Config{})
		svc := &complaints.Service{DB: db, Log: lg, Rules: rules, Calendar: cal, Notifier: notifier,
			Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

		dues := []time.Time{
			now.Add(-26 * time.Hour),                       // 0: overdue since Thursday
			time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC), // 1: today
			time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), // 2: Monday: 1 working day left
			time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC),   // 3: end of Tuesday: 2 left
			time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC),  // 4: Wednesday noon: 3 left
			time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC), // 5: far
		}
		for i, due := range dues {
			c := &store.Complaint{ID: int64(i), Idem: fmt.Sprint("c", i), Device: "T", Facility: "F", Region: "KZ-35",
				Category: qorgau.CategoryMedical, LookupID: "00", Received: now.AddDate(0, 0, -20),
				Bodies: []store.ComplaintBody{{Body: "P", State: qorgau.StateDelivered, Delivered: now.AddDate(0, 0, -20), Due: due}}}
			if i == 2 {
				c.Bodies = append(c.Bodies, store.ComplaintBody{Body: "N", State: qorgau.StateDelivered, Delivered: now.AddDate(0, 0, -20), Due: due})
			}
			if err := db.SaveComplaint(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := svc.SweepDeadlines(ctx); err != nil || n != 1 {
			t.Fatalf("SweepDeadlines = %d, %v, want 1", n, err)
		}
		raised, err := svc.NotifyDeadlines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// 1, 2 (to P and to N) and 3 are due soon; 0 is overdue.
		if raised != 5 {
			t.Errorf("NotifyDeadlines = %d, want 5", raised)
		}
		if again, err := svc.NotifyDeadlines(ctx); err != nil || again != 0 {
			t.Errorf("NotifyDeadlines again = %d, %v, want 0", again, err)
		}
		list, err := db.Notices(ctx, store.NoticeScope{}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, n := range list {
			got[n.Key] = true
			if n.Facility != "F" || n.Region != "KZ-35" || len(n.Bodies) != 1 {
				t.Errorf("notice %s = %+v", n.Key, n.Notice)
			}
		}
		for _, want := range []string{"overdue/0/P", "due_soon/1/P", "due_soon/2/P", "due_soon/2/N", "due_soon/3/P"} {
			if !got[want] {
				t.Errorf("no notice %s; have %v", want, got)
			}
		}
		// The same rule as the inbox's clock: a due_soon notice exactly when
		// at most DueSoonDays working days are left.
		for i, due := range dues[1:] {
			left := cal.WorkingDaysBetween(now, due.Add(-time.Nanosecond))
			if soon := left <= rules.DueSoonDays; soon != got[fmt.Sprintf("due_soon/%d/P", i+1)] {
				t.Errorf("complaint %d: %d working days left, due_soon notice raised = %v, want %v", i+1, left, !soon, soon)
			}
		}
	})
}
