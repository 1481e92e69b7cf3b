package store_test

import (
	"context"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestInboxFilters(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		if err := db.SaveBodies(ctx, []qorgau.Body{{Code: "P", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "p", NameRU: "p", NameEN: "p"}}, nil); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		var list []*store.Complaint
		for i, c := range []struct {
			fac string
			cat qorgau.Category
			due time.Time
		}{
			{"EC-166-1", qorgau.CategoryMedical, t0.AddDate(0, 0, 21)},
			{"EC-166-1", qorgau.CategoryTorture, t0.AddDate(0, 0, 2)},
			{"SIZO-1", qorgau.CategoryConditions, t0.AddDate(0, 0, 2)},
		} {
			list = append(list, &store.Complaint{ID: int64(i), Idem: string(rune('a' + i)), Device: "T-1", Facility: c.fac, Region: "KZ-35",
				Category: c.cat, Urgent: c.cat.IsUrgent(), LookupID: "00", Received: t0,
				Bodies: []store.ComplaintBody{{Body: "P", State: qorgau.StateDelivered, Delivered: t0, Due: c.due}}})
		}
		if err := db.SaveComplaints(ctx, list); err != nil {
			t.Fatal(err)
		}
		// Complaint 2 coded as torture although the person chose conditions.
		if err := db.SaveCoding(ctx, &store.Coding{Complaint: 2, Body: "P", Kind: qorgau.AppealComplaint, Category: qorgau.CategoryViolenceStaff,
			Torture: true, CodedBy: "m", CodedAt: t0}, &qorgau.AuditRecord{Actor: "m", Action: qorgau.AuditComplaintCoded}); err != nil {
			t.Fatal(err)
		}
		if err := db.Assign(ctx, 0, "P", "aigerim", &qorgau.AuditRecord{Actor: "m", Action: qorgau.AuditComplaintAssigned}); err != nil {
			t.Fatal(err)
		}
		ids := func(f store.InboxFilter) []int64 {
			t.Helper()
			items, err := db.Inbox(ctx, "P", f)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, it := range items {
				out = append(out, it.ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    store.InboxFilter
			want []int64
		}{
			{"all, urgent first then by term", store.InboxFilter{}, []int64{1, 2, 0}},
			{"facility", store.InboxFilter{Facility: "SIZO-1"}, []int64{2}},
			{"category", store.InboxFilter{Category: qorgau.CategoryMedical}, []int64{0}},
			{"torture chosen or coded", store.InboxFilter{Torture: true}, []int64{1, 2}},
			{"overdue", store.InboxFilter{OverdueAt: t0.AddDate(0, 0, 5)}, []int64{1, 2}},
			{"assigned", store.InboxFilter{AssignedTo: "aigerim"}, []int64{0}},
			{"state", store.InboxFilter{State: qorgau.StateClosed}, nil},
			{"a page", store.InboxFilter{Limit: 2, Offset: 1}, []int64{2, 0}},
			{"the last page", store.InboxFilter{Limit: 2, Offset: 2}, []int64{0}},
			{"past the end", store.InboxFilter{Limit: 2, Offset: 3}, nil},
		}
		for _, tt := range tests {
			got := ids(tt.f)
			if len(got) != len(tt.want) {
				t.Errorf("%s: Inbox = %v, want %v", tt.name, got, tt.want)
				continue
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%s: Inbox = %v, want %v", tt.name, got, tt.want)
					break
				}
			}
		}
		if err := db.SaveCoding(ctx, &store.Coding{Complaint: 2, Body: "P", Kind: qorgau.AppealComplaint, Category: qorgau.CategoryViolenceStaff,
			CodedBy: "m", CodedAt: t0}, &qorgau.AuditRecord{Actor: "m", Action: qorgau.AuditComplaintCoded}); qorgau.ErrorCode(err) != qorgau.EFORBIDDEN {
			t.Errorf("clearing a torture flag through SaveCoding = %v, want EFORBIDDEN", err)
		}
	})
}

// TestSaveComplaints stores a batch and then a batch that repeats some of
// it: every field comes back as saved, and a complaint saved again keeps
// its first rows (its bodies are not added twice), on both engines (the
// PostgreSQL path is one statement of arrays).
func TestSaveComplaints(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedRegistry(t, db)
		var bodies []qorgau.Body
		for _, code := range []string{"P", "N", "O"} {
			bodies = append(bodies, qorgau.Body{Code: code, Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: code, NameRU: code, NameEN: code})
		}
		if err := db.SaveBodies(ctx, bodies, nil); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 123456000, time.UTC)
		mk := func(id int64, bodies ...string) *store.Complaint {
			c := &store.Complaint{ID: id, Idem: "complaint:T-1:" + string(rune('a'+id)), Device: "T-1", Facility: "EC-166-1", Region: "KZ-35",
				Category: qorgau.CategoryTorture, Urgent: id%2 == 0, Test: id == 3, LookupID: "0123456789abcdef0123456789abcdef", Received: t0.Add(time.Duration(id) * time.Second)}
			for i, b := range bodies {
				c.Bodies = append(c.Bodies, store.ComplaintBody{Body: b, State: qorgau.StateDelivered, Delivered: t0, Due: t0.AddDate(0, 0, 15+i)})
			}
			return c
		}
		first := []*store.Complaint{mk(0, "P"), mk(1, "N", "O", "P"), mk(2, "O")}
		if err := db.SaveComplaints(ctx, first); err != nil {
			t.Fatal(err)
		}
		// 1 again with other bodies, and two new ones.
		if err := db.SaveComplaints(ctx, []*store.Complaint{mk(1, "P"), mk(3, "N", "P"), mk(4)}); err != nil {
			t.Fatal(err)
		}
		want := map[int64]*store.Complaint{0: first[0], 1: first[1], 2: first[2], 3: mk(3, "N", "P"), 4: mk(4)}
		for id, w := range want {
			got, err := db.Complaint(ctx, id)
			if err != nil {
				t.Fatalf("Complaint(%d) = %v", id, err)
			}
			if got.Idem != w.Idem || got.Device != w.Device || got.Facility != w.Facility || got.Region != w.Region || got.Category != w.Category ||
				got.Urgent != w.Urgent || got.Test != w.Test || got.LookupID != w.LookupID || !got.Received.Equal(w.Received) {
				t.Errorf("complaint %d = %+v, want %+v", id, got, w)
			}
			if len(got.Bodies) != len(w.Bodies) {
				t.Errorf("complaint %d has bodies %+v, want %+v", id, got.Bodies, w.Bodies)
				continue
			}
			for i, b := range got.Bodies {
				wb := w.Bodies[i]
				if b.Body != wb.Body || b.State != wb.State || !b.Delivered.Equal(wb.Delivered) || !b.Due.Equal(wb.Due) {
					t.Errorf("complaint %d body %d = %+v, want %+v", id, i, b, wb)
				}
			}
		}
	})
}
