package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// seedNoticeBodies adds a prosecutor and the NPM, members with and without
// email, and an NPM coordinator.
func seedNoticeBodies(t *testing.T, db *store.DB) map[string]*qorgau.User {
	t.Helper()
	ctx := context.Background()
	seedRegistry(t, db)
	if err := db.SaveBodies(ctx, []qorgau.Body{
		{Code: "P", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "p", NameRU: "p", NameEN: "p"},
		{Code: "N", Kind: qorgau.BodyNPM, NameKK: "n", NameRU: "n", NameEN: "n"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	users := map[string]*qorgau.User{}
	for _, u := range []*qorgau.User{
		{Name: "p1", Role: qorgau.RoleMember, Body: "P"},
		{Name: "p2", Role: qorgau.RoleMember, Body: "P"},
		{Name: "p3", Role: qorgau.RoleMember, Body: "P", Disabled: true},
		{Name: "n1", Role: qorgau.RoleMember, Body: "N"},
		{Name: "coord", Role: qorgau.RoleNPM},
	} {
		u.PasswordHash = "x"
		if err := db.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		users[u.Name] = u
	}
	for name, email := range map[string]string{"p1": "p1@example.kz", "p3": "p3@example.kz", "n1": "n1@example.kz"} {
		if err := db.SetUserEmail(ctx, name, email, &qorgau.AuditRecord{Actor: "cli:t", Action: qorgau.AuditUserEmail, Target: name}); err != nil {
			t.Fatal(err)
		}
	}
	return users
}

func TestNotices(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		users := seedNoticeBodies(t, db)
		if err := db.SetUserEmail(ctx, "p2", "not an address", nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SetUserEmail(bad) = %v, want EINVALID", err)
		}
		if err := db.SetUserEmail(ctx, "nobody", "a@b.kz", nil); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("SetUserEmail(unknown user) = %v, want ENOTFOUND", err)
		}
		if e, err := db.UserEmail(ctx, "p1"); err != nil || e != "p1@example.kz" {
			t.Errorf("UserEmail(p1) = %q, %v", e, err)
		}
		secret := strings.Repeat("s", 40)
		if err := db.SetWebhook(ctx, &store.Webhook{Body: "P", URL: "ftp://x", Secret: secret}, nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SetWebhook(ftp) = %v, want EINVALID", err)
		}
		if err := db.SetWebhook(ctx, &store.Webhook{Body: "NOPE", URL: "https://x.kz/h", Secret: secret}, nil); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SetWebhook(unknown body) = %v, want EINVALID", err)
		}
		if err := db.SetWebhook(ctx, &store.Webhook{Body: "P", URL: "https://old.kz/h", Secret: secret}, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SetWebhook(ctx, &store.Webhook{Body: "P", URL: "https://p.kz/hook", Secret: secret}, nil); err != nil {
			t.Fatal(err)
		}
		if w, err := db.BodyWebhook(ctx, "P"); err != nil || w.URL != "https://p.kz/hook" {
			t.Errorf("BodyWebhook(P) = %+v, %v", w, err)
		}

		at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		n := &qorgau.Notice{Time: at, Kind: qorgau.NoticeTerminalDown, Bodies: []string{"P", "N"}, Region: "KZ-35",
			Facility: "EC-166-1", Device: "T-1", Key: "terminal_down/T-1/1", Text: "Terminal T-1 is down"}
		created, err := db.SaveNotice(ctx, n, true)
		if err != nil || !created || n.ID == 0 {
			t.Fatalf("SaveNotice = %v, %v (id %d)", created, err, n.ID)
		}
		again := *n
		again.ID = 0
		if created, err := db.SaveNotice(ctx, &again, true); err != nil || created || again.ID != n.ID {
			t.Errorf("SaveNotice(same key) = %v, %v, id %d; want not created, id %d", created, err, again.ID, n.ID)
		}
		if _, err := db.SaveNotice(ctx, &qorgau.Notice{Kind: "gossip", Key: "k", Bodies: []string{"P"}}, true); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SaveNotice(bad kind) = %v, want EINVALID", err)
		}
		if _, err := db.SaveNotice(ctx, &qorgau.Notice{Kind: qorgau.NoticeTamper, Key: "k", Bodies: []string{"P", "KZ-35"}}, true); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SaveNotice(to a region code) = %v, want EINVALID", err)
		}
		if _, err := db.Notices(ctx, store.NoticeScope{}, 0, 0); err != nil {
			t.Fatal(err)
		} else if n, _ := db.UnreadNotices(ctx, store.NoticeScope{}, 0); n != 1 {
			t.Errorf("notices after refused ones = %d, want 1: a refused notice stores nothing", n)
		}
		// Deliveries: p1 and n1 by email (p2 has no address, p3 is
		// disabled), and P's webhook.
		ds, err := db.NoticeDeliveries(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.Channel+":"+d.Target)
		}
		if want := "email:n1@example.kz email:p1@example.kz webhook:P"; strings.Join(got, " ") != want {
			t.Errorf("deliveries = %v, want %s", got, want)
		}
		// Without email, only the webhook.
		n2 := &qorgau.Notice{Time: at.Add(time.Minute), Kind: qorgau.NoticeTamper, Bodies: []string{"P"}, Key: "tamper/T-1/1", Text: "case opened"}
		if _, err := db.SaveNotice(ctx, n2, false); err != nil {
			t.Fatal(err)
		}
		if ds, _ := db.NoticeDeliveries(ctx, n2.ID); len(ds) != 1 || ds[0].Channel != store.ChannelWebhook {
			t.Errorf("deliveries without email = %+v, want the webhook only", ds)
		}
		n3 := &qorgau.Notice{Time: at.Add(2 * time.Minute), Kind: qorgau.NoticeTestDelivered, Bodies: []string{"N"}, Key: "test/1", Text: "test arrived"}
		if _, err := db.SaveNotice(ctx, n3, false); err != nil {
			t.Fatal(err)
		}

		// Scopes and read marks.
		p1, n1, coord := users["p1"].ID, users["n1"].ID, users["coord"].ID
		scopes := []struct {
			name  string
			scope store.NoticeScope
			user  int64
			want  []int64
		}{
			{"member of P", store.NoticeScope{Body: "P"}, p1, []int64{n2.ID, n.ID}},
			{"member of N", store.NoticeScope{Body: "N"}, n1, []int64{n3.ID, n.ID}},
			{"NPM coordinator", store.NoticeScope{BodyKind: qorgau.BodyNPM}, coord, []int64{n3.ID, n.ID}},
			{"admin", store.NoticeScope{}, 999, []int64{n3.ID, n2.ID, n.ID}},
		}
		for _, sc := range scopes {
			t.Run(sc.name, func(t *testing.T) {
				list, err := db.Notices(ctx, sc.scope, sc.user, 0)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, r := range list {
					ids = append(ids, r.ID)
				}
				if !equalIDs(ids, sc.want) {
					t.Errorf("Notices = %v, want %v", ids, sc.want)
				}
				if u, err := db.UnreadNotices(ctx, sc.scope, sc.user); err != nil || u != len(sc.want) {
					t.Errorf("UnreadNotices = %d, %v, want %d", u, err, len(sc.want))
				}
			})
		}
		list, _ := db.Notices(ctx, store.NoticeScope{Body: "P"}, p1, 0)
		if b := list[1].Bodies; len(b) != 2 || b[0] != "N" || b[1] != "P" || list[1].Device != "T-1" || !list[1].Time.Equal(at) {
			t.Errorf("Notices()[1] = %+v", list[1])
		}
		if err := db.MarkNoticesRead(ctx, store.NoticeScope{Body: "P"}, p1, n3.ID); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("marking another body's notice read = %v, want ENOTFOUND", err)
		}
		if err := db.MarkNoticesRead(ctx, store.NoticeScope{Body: "P"}, p1, n.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkNoticesRead(ctx, store.NoticeScope{Body: "P"}, p1, n.ID); err != nil {
			t.Errorf("marking read twice = %v", err)
		}
		if u, _ := db.UnreadNotices(ctx, store.NoticeScope{Body: "P"}, p1); u != 1 {
			t.Errorf("unread after one read = %d, want 1", u)
		}
		if u, _ := db.UnreadNotices(ctx, store.NoticeScope{Body: "N"}, n1); u != 2 {
			t.Errorf("n1's unread after p1 read = %d, want 2 (marks are per user)", u)
		}
		if err := db.MarkNoticesRead(ctx, store.NoticeScope{Body: "P"}, p1, 0); err != nil {
			t.Fatal(err)
		}
		if u, _ := db.UnreadNotices(ctx, store.NoticeScope{Body: "P"}, p1); u != 0 {
			t.Errorf("unread after all read = %d, want 0", u)
		}

		// Delivery bookkeeping: due, retried, done, given up.
		db.Now = func() time.Time { return at.Add(time.Hour) }
		due, err := db.DueDeliveries(ctx, at.Add(time.Hour), 100)
		if err != nil || len(due) != 4 {
			t.Fatalf("DueDeliveries = %d, %v, want 4", len(due), err)
		}
		if err := db.DeliveryFailed(ctx, due[0].ID, at.Add(2*time.Hour), "connection refused", false); err != nil {
			t.Fatal(err)
		}
		if err := db.DeliveryDone(ctx, due[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := db.DeliveryFailed(ctx, due[2].ID, time.Time{}, "550 no such user", true); err != nil {
			t.Fatal(err)
		}
		if left, _ := db.DueDeliveries(ctx, at.Add(time.Hour), 100); len(left) != 1 {
			t.Errorf("due after one retry, one done, one given up = %d, want 1", len(left))
		}
		if next, ok, err := db.NextDelivery(ctx); err != nil || !ok || !next.Equal(at.Add(time.Minute)) {
			t.Errorf("NextDelivery = %v, %v, %v, want %v", next, ok, err, at.Add(time.Minute))
		}
		if err := db.RemoveWebhook(ctx, "P", nil); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveWebhook(ctx, "P", nil); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("RemoveWebhook twice = %v, want ENOTFOUND", err)
		}
	})
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeadlineCopies(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedNoticeBodies(t, db)
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		dues := []time.Time{now.Add(-time.Hour), now.Add(24 * time.Hour), now.Add(10 * 24 * time.Hour)}
		for i, due := range dues {
			c := &store.Complaint{ID: int64(i), Idem: "c" + string(rune('0'+i)), Device: "T-1", Facility: "EC-166-1", Region: "KZ-35",
				Category: qorgau.CategoryMedical, LookupID: "00", Received: now.Add(-20 * 24 * time.Hour),
				Bodies: []store.ComplaintBody{{Body: "P", State: qorgau.StateDelivered, Delivered: now, Due: due}}}
			if err := db.SaveComplaint(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		soon, err := db.DueSoonCopies(ctx, now, now.Add(3*24*time.Hour), 100)
		if err != nil || len(soon) != 1 || soon[0].Complaint != 1 || soon[0].Facility != "EC-166-1" || soon[0].Region != "KZ-35" {
			t.Fatalf("DueSoonCopies = %+v, %v, want complaint 1", soon, err)
		}
		if _, err := db.SaveNotice(ctx, &qorgau.Notice{Kind: qorgau.NoticeDueSoon, Complaint: 1, Bodies: []string{"P"}, Key: "due_soon/1/P", Text: "x"}, false); err != nil {
			t.Fatal(err)
		}
		if soon, _ := db.DueSoonCopies(ctx, now, now.Add(3*24*time.Hour), 100); len(soon) != 0 {
			t.Errorf("DueSoonCopies after the notice = %+v, want none", soon)
		}
		// Overdue: only once the overdue event is recorded.
		if od, _ := db.OverdueCopies(ctx, 100); len(od) != 0 {
			t.Errorf("OverdueCopies before the event = %+v", od)
		}
		if err := db.RecordEvent(ctx, &store.ComplaintEvent{Complaint: 0, Body: "P", At: now, Actor: "system", Event: qorgau.EventOverdue}, nil); err != nil {
			t.Fatal(err)
		}
		od, err := db.OverdueCopies(ctx, 100)
		if err != nil || len(od) != 1 || od[0].Complaint != 0 {
			t.Fatalf("OverdueCopies = %+v, %v, want complaint 0", od, err)
		}
		if _, err := db.SaveNotice(ctx, &qorgau.Notice{Kind: qorgau.NoticeOverdue, Complaint: 0, Bodies: []string{"P"}, Key: "overdue/0/P", Text: "x"}, false); err != nil {
			t.Fatal(err)
		}
		if od, _ := db.OverdueCopies(ctx, 100); len(od) != 0 {
			t.Errorf("OverdueCopies after the notice = %+v", od)
		}
	})
}

func TestMonitorTests(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		seedNoticeBodies(t, db)
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		mt := &qorgau.MonitorTest{CreatedBy: "n1", Body: "N", ExpiresAt: now.Add(qorgau.MonitorTestTTL)}
		if err := db.CreateMonitorTest(ctx, "hash-1", mt, &qorgau.AuditRecord{Actor: "n1", Action: qorgau.AuditTestCodeIssued}); err != nil {
			t.Fatal(err)
		}
		old := &qorgau.MonitorTest{CreatedBy: "n1", Body: "N", ExpiresAt: now.Add(-time.Minute)}
		if err := db.CreateMonitorTest(ctx, "hash-old", old, nil); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"nope", "hash-old"} {
			if err := db.CheckMonitorTest(ctx, h, now); qorgau.ErrorCode(err) != qorgau.EFORBIDDEN {
				t.Errorf("CheckMonitorTest(%s) = %v, want EFORBIDDEN", h, err)
			}
			if _, _, err := db.ClaimMonitorTest(ctx, h, "T-1", "complaint:T-1:a", now); qorgau.ErrorCode(err) != qorgau.EFORBIDDEN {
				t.Errorf("ClaimMonitorTest(%s) = %v, want EFORBIDDEN", h, err)
			}
		}
		// Asking changes nothing: the code can still be claimed.
		for range 2 {
			if err := db.CheckMonitorTest(ctx, "hash-1", now); err != nil {
				t.Errorf("CheckMonitorTest(unused) = %v", err)
			}
		}
		if err := db.CheckMonitorTest(ctx, "hash-1", mt.ExpiresAt); qorgau.ErrorCode(err) != qorgau.EFORBIDDEN {
			t.Errorf("CheckMonitorTest at expiry = %v, want EFORBIDDEN", err)
		}
		got, fresh, err := db.ClaimMonitorTest(ctx, "hash-1", "T-1", "complaint:T-1:a", now)
		if err != nil || !fresh || got.ID != mt.ID || got.CreatedBy != "n1" {
			t.Fatalf("ClaimMonitorTest = %+v, %v, %v", got, fresh, err)
		}
		if _, fresh, err := db.ClaimMonitorTest(ctx, "hash-1", "T-1", "complaint:T-1:a", now); err != nil || fresh {
			t.Errorf("the terminal's retry = %v, %v; want accepted, not fresh", fresh, err)
		}
		if _, _, err := db.ClaimMonitorTest(ctx, "hash-1", "T-1", "complaint:T-1:b", now); qorgau.ErrorCode(err) != qorgau.EFORBIDDEN {
			t.Errorf("a second complaint with a used code = %v, want EFORBIDDEN", err)
		}
		if err := db.CheckMonitorTest(ctx, "hash-1", now); qorgau.ErrorCode(err) != qorgau.EFORBIDDEN {
			t.Errorf("CheckMonitorTest(used) = %v, want EFORBIDDEN", err)
		}
		// The complaint arrives at two bodies; a member of P reads it.
		c := &store.Complaint{ID: 0, Idem: "complaint:T-1:a", Device: "T-1", Facility: "EC-166-1", Region: "KZ-35",
			Category: qorgau.CategoryMedical, Test: true, LookupID: "00", Received: now,
			Bodies: []store.ComplaintBody{
				{Body: "P", State: qorgau.StateDelivered, Delivered: now, Due: now.Add(time.Hour)},
				{Body: "N", State: qorgau.StateDelivered, Delivered: now, Due: now.Add(time.Hour)},
			}}
		if err := db.SaveComplaint(ctx, c); err != nil {
			t.Fatal(err)
		}
		readAt := now.Add(5 * time.Minute)
		db.Now = func() time.Time { return readAt }
		for range 2 {
			if err := db.AppendAudit(ctx, &qorgau.AuditRecord{Actor: "p1", Action: qorgau.AuditComplaintRead, Target: "0"}); err != nil {
				t.Fatal(err)
			}
			db.Now = func() time.Time { return readAt.Add(time.Hour) }
		}
		list, err := db.MonitorTests(ctx, "n1", 0)
		if err != nil || len(list) != 2 {
			t.Fatalf("MonitorTests = %d, %v, want 2", len(list), err)
		}
		if list[0].Complaint != -1 || list[1].Complaint != 0 || !list[1].Received.Equal(now) {
			t.Errorf("MonitorTests complaints = %d, %d (received %v)", list[0].Complaint, list[1].Complaint, list[1].Received)
		}
		arr := list[1].Arrivals
		if len(arr) != 2 || arr[0].Body != "N" || !arr[0].FirstRead.IsZero() || arr[1].Body != "P" ||
			!arr[1].Delivered.Equal(now) || !arr[1].FirstRead.Equal(readAt) {
			t.Errorf("arrivals = %+v, want N unread and P first read at %v", arr, readAt)
		}
		if other, _ := db.MonitorTests(ctx, "p1", 0); len(other) != 0 {
			t.Errorf("another user's tests = %d, want 0", len(other))
		}
		// A released code can be used again.
		if err := db.ReleaseMonitorTest(ctx, mt.ID); err != nil {
			t.Fatal(err)
		}
		if _, fresh, err := db.ClaimMonitorTest(ctx, "hash-1", "T-1", "complaint:T-1:c", now); err != nil || !fresh {
			t.Errorf("claim after release = %v, %v", fresh, err)
		}
	})
}
