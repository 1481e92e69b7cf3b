package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// seedMembers adds bodies PROS-35 and NPM and member users of them, and
// returns the users by name.
func seedMembers(t *testing.T, db *store.DB, members map[string]string) map[string]*qorgau.User {
	t.Helper()
	ctx := context.Background()
	if err := db.SaveBodies(ctx, []qorgau.Body{
		{Code: "PROS-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "a", NameRU: "b", NameEN: "c"},
		{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "a", NameRU: "b", NameEN: "c"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	users := map[string]*qorgau.User{}
	for name, body := range members {
		u := &qorgau.User{Name: name, Role: qorgau.RoleMember, Body: body, PasswordHash: "x"}
		if err := db.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	return users
}

func audit(action, target string) *qorgau.AuditRecord {
	return &qorgau.AuditRecord{Actor: "test", Action: action, Target: target}
}

func TestMemberKeys(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		users := seedMembers(t, db, map[string]string{"aigerim": "PROS-35", "bolat": "PROS-35"})
		a, b := users["aigerim"], users["bolat"]

		if _, err := db.MemberKey(ctx, a.ID); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("MemberKey before any = %v, want ENOTFOUND", err)
		}
		if err := db.SetMemberKey(ctx, a.ID, "age1aigerim", []byte("wrap-1"), audit(qorgau.AuditMemberKeySet, "aigerim")); err != nil {
			t.Fatalf("SetMemberKey = %v", err)
		}
		k, err := db.MemberKey(ctx, a.ID)
		if err != nil || k.Recipient != "age1aigerim" || string(k.Wrapped) != "wrap-1" || k.CreatedAt.IsZero() {
			t.Fatalf("MemberKey = %+v, %v", k, err)
		}

		// A body key wrapped to aigerim survives a re-wrap under a new
		// passphrase, and goes with a new key.
		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: "PROS-35",
			NewKey:      &store.BodyKey{KeyID: "k1", Recipient: "age1body1"},
			NewKeyWraps: map[int64][]byte{a.ID: []byte("body-wrap")},
			Audit:       []qorgau.AuditRecord{*audit(qorgau.AuditBodyKeyCreated, "PROS-35")}}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetMemberKey(ctx, a.ID, "age1aigerim", []byte("wrap-2"), audit(qorgau.AuditMemberKeySet, "aigerim")); err != nil {
			t.Fatal(err)
		}
		if w, _ := db.BodyKeyWraps(ctx, a.ID, ""); len(w) != 1 {
			t.Errorf("wraps after a re-wrap = %d, want 1 kept", len(w))
		}
		k2, _ := db.MemberKey(ctx, a.ID)
		if string(k2.Wrapped) != "wrap-2" || !k2.CreatedAt.Equal(k.CreatedAt) {
			t.Errorf("MemberKey after a re-wrap = %+v", k2)
		}
		if err := db.SetMemberKey(ctx, a.ID, "age1aigerim-new", []byte("wrap-3"), audit(qorgau.AuditMemberKeySet, "aigerim")); err != nil {
			t.Fatal(err)
		}
		if w, _ := db.BodyKeyWraps(ctx, a.ID, ""); len(w) != 0 {
			t.Errorf("wraps after a new member key = %d, want 0: they were for the old key", len(w))
		}

		if err := db.SetMemberKey(ctx, b.ID, "age1aigerim-new", []byte("w"), audit(qorgau.AuditMemberKeySet, "bolat")); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("SetMemberKey with another user's recipient = %v, want ECONFLICT", err)
		}
		if err := db.SetMemberKey(ctx, 9999, "age1nobody", []byte("w"), audit(qorgau.AuditMemberKeySet, "x")); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("SetMemberKey of an unknown user = %v, want ENOTFOUND", err)
		}
		if err := db.SetMemberKey(ctx, b.ID, "age1bolat", []byte("w"), nil); err == nil {
			t.Error("SetMemberKey without an audit record = nil, want an error")
		}
		recs, err := db.AuditRecords(ctx, qorgau.AuditFilter{Action: qorgau.AuditMemberKeySet})
		if err != nil || len(recs) != 3 {
			t.Errorf("member key audit records = %d, %v; want 3", len(recs), err)
		}
		if n, err := db.VerifyAudit(ctx, nil); err != nil || n != 4 {
			t.Errorf("VerifyAudit = %d, %v; want 4 records intact", n, err)
		}
	})
}

func TestBodyKeys(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
		db.Now = func() time.Time { return now }
		users := seedMembers(t, db, map[string]string{"aigerim": "PROS-35", "bolat": "PROS-35", "dana": "PROS-35", "erlan": "NPM"})
		a, b, d := users["aigerim"].ID, users["bolat"].ID, users["dana"].ID
		for name, u := range users {
			if err := db.SetMemberKey(ctx, u.ID, "age1"+name, []byte("w"), audit(qorgau.AuditMemberKeySet, name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateUser(ctx, &qorgau.User{Name: "keyless", Role: qorgau.RoleMember, Body: "PROS-35", PasswordHash: "x"}, nil); err != nil {
			t.Fatal(err)
		}
		audits := func(action string) []qorgau.AuditRecord {
			return []qorgau.AuditRecord{*audit(action, "PROS-35")}
		}

		if _, err := db.CurrentBodyKey(ctx, "PROS-35"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("CurrentBodyKey before any = %v, want ENOTFOUND", err)
		}
		members, err := db.BodyMembers(ctx, "PROS-35")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range members {
			names = append(names, m.Name+"="+m.Recipient)
		}
		if got := strings.Join(names, " "); got != "aigerim=age1aigerim bolat=age1bolat dana=age1dana keyless=" {
			t.Errorf("BodyMembers = %s", got)
		}

		k1 := &store.BodyKey{KeyID: "id-1", Recipient: "age1v1"}
		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: "PROS-35", NewKey: k1,
			NewKeyWraps: map[int64][]byte{a: []byte("v1-a"), b: []byte("v1-b")}, Audit: audits(qorgau.AuditBodyKeyCreated)}); err != nil {
			t.Fatalf("ChangeBodyKeys (first key) = %v", err)
		}
		if k1.Version != 1 || k1.Body != "PROS-35" || !k1.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
			t.Errorf("new key = %+v, want version 1 created now", k1)
		}
		now = now.Add(time.Hour)

		// Rotation: dana joins, bolat is removed.
		k2 := &store.BodyKey{KeyID: "id-2", Recipient: "age1pq1v2"}
		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: "PROS-35", Revoke: []int64{b}, NewKey: k2,
			NewKeyWraps: map[int64][]byte{a: []byte("v2-a"), d: []byte("v2-d")},
			Grants:      []store.BodyKeyWrap{{Body: "PROS-35", Version: 1, UserID: d, Wrapped: []byte("v1-d")}},
			Audit:       append(audits(qorgau.AuditBodyMemberRemoved), audits(qorgau.AuditBodyKeyRotated)...)}); err != nil {
			t.Fatalf("ChangeBodyKeys (rotation) = %v", err)
		}
		cur, err := db.CurrentBodyKey(ctx, "PROS-35")
		if err != nil || cur.Version != 2 || cur.Recipient != "age1pq1v2" || !cur.Current() {
			t.Errorf("CurrentBodyKey = %+v, %v; want version 2", cur, err)
		}
		keys, err := db.BodyKeys(ctx, "PROS-35")
		if err != nil || len(keys) != 2 {
			t.Fatalf("BodyKeys = %+v, %v", keys, err)
		}
		if keys[0].Version != 2 || !slices.Equal(keys[0].Holders, []string{"aigerim", "dana"}) ||
			keys[1].Version != 1 || !slices.Equal(keys[1].Holders, []string{"aigerim", "dana"}) ||
			keys[1].Current() || !keys[1].RetiredAt.Equal(now.Truncate(time.Microsecond)) {
			t.Errorf("BodyKeys = %+v, want v2 and retired v1 both held by aigerim and dana", keys)
		}
		if w, _ := db.BodyKeyWraps(ctx, b, ""); len(w) != 0 {
			t.Errorf("wraps of the removed member = %d, want 0", len(w))
		}
		wraps, err := db.BodyKeyWraps(ctx, d, "PROS-35")
		if err != nil || len(wraps) != 2 || wraps[0].Version != 2 || string(wraps[0].Wrapped) != "v2-d" ||
			wraps[0].Recipient != "age1pq1v2" || wraps[1].Version != 1 || string(wraps[1].Wrapped) != "v1-d" {
			t.Errorf("BodyKeyWraps(dana) = %+v, %v", wraps, err)
		}
		holders, err := db.BodyKeyHolders(ctx, "PROS-35", 2)
		if err != nil || len(holders) != 2 || holders[0].Name != "aigerim" || holders[1].Recipient != "age1dana" {
			t.Errorf("BodyKeyHolders = %+v, %v", holders, err)
		}
		if byID, err := db.BodyKeyByID(ctx, "id-1"); err != nil || byID.Version != 1 || byID.Body != "PROS-35" {
			t.Errorf("BodyKeyByID(id-1) = %+v, %v", byID, err)
		}
		if _, err := db.BodyKeyByID(ctx, "nope"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("BodyKeyByID(nope) = %v, want ENOTFOUND", err)
		}

		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: "NPM", NewKey: &store.BodyKey{KeyID: "id-npm", Recipient: "age1npm"},
			NewKeyWraps: map[int64][]byte{users["erlan"].ID: []byte("w")}, Audit: audits(qorgau.AuditBodyKeyCreated)}); err != nil {
			t.Fatal(err)
		}
		all, err := db.CurrentBodyKeys(ctx)
		if err != nil || len(all) != 2 || all[0].Body != "NPM" || all[1].Version != 2 {
			t.Errorf("CurrentBodyKeys = %+v, %v", all, err)
		}

		// Failures leave nothing behind.
		for _, tc := range []struct {
			name string
			ch   store.BodyKeyChange
			code string
		}{
			{"unknown body", store.BodyKeyChange{Body: "NOPE", NewKey: &store.BodyKey{KeyID: "x", Recipient: "age1x"}, Audit: audits("x")}, qorgau.EINVALID},
			{"key in use", store.BodyKeyChange{Body: "PROS-35", NewKey: &store.BodyKey{KeyID: "id-npm", Recipient: "age1npm"}, Audit: audits("x")}, qorgau.ECONFLICT},
			{"grant of a missing version", store.BodyKeyChange{Body: "PROS-35", Revoke: []int64{a},
				Grants: []store.BodyKeyWrap{{Body: "PROS-35", Version: 7, UserID: a, Wrapped: []byte("w")}}, Audit: audits("x")}, qorgau.EINVALID},
			{"no audit", store.BodyKeyChange{Body: "PROS-35", RetireCurrent: true}, qorgau.EINTERNAL},
		} {
			if err := db.ChangeBodyKeys(ctx, &tc.ch); qorgau.ErrorCode(err) != tc.code {
				t.Errorf("ChangeBodyKeys with %s = %v, want %s", tc.name, err, tc.code)
			}
		}
		if w, _ := db.BodyKeyWraps(ctx, a, ""); len(w) != 2 {
			t.Errorf("aigerim's wraps after failed changes = %d, want 2 (the revoke was rolled back)", len(w))
		}

		// Retiring without a successor leaves the body without a key.
		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: "PROS-35", Revoke: []int64{a, d}, RetireCurrent: true,
			Audit: audits(qorgau.AuditBodyKeyRetired)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CurrentBodyKey(ctx, "PROS-35"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("CurrentBodyKey after retiring = %v, want ENOTFOUND", err)
		}
		k3 := &store.BodyKey{KeyID: "id-3", Recipient: "age1v3"}
		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: "PROS-35", NewKey: k3, NewKeyWraps: map[int64][]byte{a: []byte("w")},
			Audit: audits(qorgau.AuditBodyKeyRotated)}); err != nil || k3.Version != 3 {
			t.Errorf("a key after retiring = version %d, %v; want 3", k3.Version, err)
		}
		if _, err := db.VerifyAudit(ctx, nil); err != nil {
			t.Errorf("VerifyAudit = %v", err)
		}
	})
}
