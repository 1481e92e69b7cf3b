package store_test

import (
	"context"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// TestCodingIncidentWindow stores the incident's time window with a
// coding, reads it back, clears it, and refuses an inverted or future one.
func TestCodingIncidentWindow(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedNoticeBodies(t, db)
		t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		if err := db.SaveComplaint(ctx, &store.Complaint{ID: 0, Idem: "a", Device: "T-1", Facility: "EC-166-1", Region: "KZ-35",
			Category: qorgau.CategoryMedical, LookupID: "00", Received: t0,
			Bodies: []store.ComplaintBody{{Body: "P", State: qorgau.StateDelivered, Delivered: t0, Due: t0.AddDate(0, 0, 20)}}}); err != nil {
			t.Fatal(err)
		}
		audit := &qorgau.AuditRecord{Actor: "p1", Action: qorgau.AuditComplaintCoded}
		from, to := t0.Add(-50*time.Hour), t0.Add(-47*time.Hour)
		c := &store.Coding{Complaint: 0, Body: "P", Kind: qorgau.AppealComplaint, Category: qorgau.CategoryMedical,
			IncidentFrom: from, IncidentTo: to, CodedBy: "p1", CodedAt: t0}
		if err := db.SaveCoding(ctx, c, audit); err != nil {
			t.Fatal(err)
		}
		got, err := db.Coding(ctx, 0, "P")
		if err != nil || !got.IncidentFrom.Equal(from) || !got.IncidentTo.Equal(to) {
			t.Fatalf("Coding = %+v, %v; want the window %v–%v", got, err, from, to)
		}
		bad := []struct {
			name     string
			from, to time.Time
		}{
			{"inverted", to, from},
			{"in the future", t0.Add(48 * time.Hour), time.Time{}},
		}
		for _, b := range bad {
			c2 := *c
			c2.IncidentFrom, c2.IncidentTo = b.from, b.to
			if err := db.SaveCoding(ctx, &c2, audit); qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("%s window = %v, want EINVALID", b.name, err)
			}
		}
		c.IncidentFrom, c.IncidentTo = time.Time{}, to
		if err := db.SaveCoding(ctx, c, audit); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Coding(ctx, 0, "P"); !got.IncidentFrom.IsZero() || !got.IncidentTo.Equal(to) {
			t.Errorf("after clearing the start: %v–%v, want unknown–%v", got.IncidentFrom, got.IncidentTo, to)
		}
	})
}
