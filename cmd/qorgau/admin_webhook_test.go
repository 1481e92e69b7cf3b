package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// TestAdminWebhookAndEmail sets a body's webhook and a member's address
// with the admin commands, and checks bad input changes nothing.
func TestAdminWebhookAndEmail(t *testing.T) {
	w := newWorld(t, 1)
	data := []string{"-data", w.dir}
	run := func(wantCode int, want string, args ...string) string {
		t.Helper()
		out, errOut, code := runQ(t, nil, append(args, data...)...)
		if code != wantCode || !strings.Contains(out+errOut, want) {
			t.Fatalf("qorgau %s = %d\n%s%s\nwant %d and %q", strings.Join(args, " "), code, out, errOut, wantCode, want)
		}
		return out
	}
	out := run(0, "secret (shown once", "admin", "body", "webhook", "set", "NPM", "https://hooks.example.kz/npm")
	secret := strings.TrimSpace(out[strings.LastIndex(out, ": ")+2:])
	run(1, "must be an http", "admin", "body", "webhook", "set", "NPM", "ftp://hooks.example.kz")
	run(1, "no recipient body", "admin", "body", "webhook", "set", "NOPE", "https://x.kz")
	run(2, "takes 2 arguments", "admin", "body", "webhook", "set", "NPM")
	run(0, "https://hooks.example.kz/npm", "admin", "body", "webhook", "show", "NPM")
	run(0, "notices are emailed to aigerim@prok.kz", "admin", "user", "edit", "--name", worldMember, "--email", "aigerim@prok.kz")
	run(2, "not an email address", "admin", "user", "edit", "--name", worldMember, "--email", "aigerim at prok")
	run(1, "not found", "admin", "user", "edit", "--name", "nobody", "--email", "a@b.kz")
	run(2, "not an email address", "admin", "user", "add", "--name", "newbie", "--role", "member", "--body", "NPM", "--email", "x")
	run(0, "added newbie", "admin", "user", "add", "--name", "newbie", "--role", "member", "--body", "NPM", "--email", "newbie@npm.kz")

	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if hook, err := db.BodyWebhook(ctx, "NPM"); err != nil || hook.Secret != secret || hook.URL != "https://hooks.example.kz/npm" {
		t.Errorf("stored webhook = %+v, %v; want the URL and the printed secret", hook, err)
	}
	for name, want := range map[string]string{worldMember: "aigerim@prok.kz", "newbie": "newbie@npm.kz"} {
		if got, err := db.UserEmail(ctx, name); err != nil || got != want {
			t.Errorf("email of %s = %q, %v, want %q", name, got, err, want)
		}
	}
	if _, err := db.UserByName(ctx, "newbie"); err != nil {
		t.Error(err)
	}
	recs, err := db.AuditRecords(ctx, qorgau.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range recs {
		count[r.Action]++
	}
	if count[qorgau.AuditWebhookSet] != 1 || count[qorgau.AuditUserEmail] != 2 {
		t.Errorf("audit = %v, want one webhook set and two email changes", count)
	}
	db.Close()
	run(0, "removed", "admin", "body", "webhook", "remove", "NPM")
	run(1, "has no webhook", "admin", "body", "webhook", "remove", "NPM")
}
