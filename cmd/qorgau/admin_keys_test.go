package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// adminBody runs `qorgau admin body args…` in this process and returns what
// it printed. The dispatch from runAdmin is wired separately.
func adminBody(t *testing.T, args ...string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = f
	err = runAdminBody(context.Background(), args)
	os.Stdout = old
	f.Seek(0, io.SeekStart)
	out, _ := io.ReadAll(f)
	f.Close()
	return string(out), err
}

// keyWorld is a deployment with one body, its members and their
// passphrases, and a terminal that seals complaints to the body.
type keyWorld struct {
	t      *testing.T
	db     *store.DB
	dbArgs []string
	pass   map[string]string
	device ed25519.PrivateKey
	n      int
}

func (w *keyWorld) user(name string) *qorgau.User {
	w.t.Helper()
	u, err := w.db.UserByName(context.Background(), name)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// giveMemberKey makes a member key for name as the login code will.
func (w *keyWorld) giveMemberKey(name string) {
	w.t.Helper()
	w.pass[name] = "passphrase of " + name
	recipient, wrapped, err := seal.NewMemberKey(w.pass[name])
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.SetMemberKey(context.Background(), w.user(name).ID, recipient, wrapped,
		&qorgau.AuditRecord{Actor: "test", Action: qorgau.AuditMemberKeySet, Target: name}); err != nil {
		w.t.Fatal(err)
	}
}

// seal seals a complaint to PROS-35's current key as a terminal would,
// and returns it marshalled and parsed back.
func (w *keyWorld) seal() *seal.Envelope {
	w.t.Helper()
	ctx := context.Background()
	cur, err := w.db.CurrentBodyKey(ctx, "PROS-35")
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := seal.ParseRecipient(cur.Recipient)
	if err != nil {
		w.t.Fatal(err)
	}
	w.n++
	doc := &seal.Document{V: 1, Kind: seal.KindComplaint, Category: "medical", Text: fmt.Sprint("complaint ", w.n),
		Lang: "kk", Facility: "EC-166-1", Bodies: []string{"PROS-35"}, Written: time.Now().UTC()}
	e, err := seal.Seal(doc, []age.Recipient{r}, w.device, "T-1", fmt.Sprint("idem-", w.n), seal.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	e, err = seal.ParseEnvelope(e.Marshal(), 0)
	if err != nil {
		w.t.Fatal(err)
	}
	if got, err := w.db.BodyKeyByID(ctx, e.KeyIDs[0]); err != nil || got.Version != cur.Version {
		w.t.Fatalf("BodyKeyByID(envelope key) = %+v, %v", got, err)
	}
	return e
}

// identities logs name in as the server will: it unwraps the member key
// with the passphrase, then every body key the member holds.
func (w *keyWorld) identities(name string) []age.Identity {
	w.t.Helper()
	ctx := context.Background()
	u := w.user(name)
	mk, err := w.db.MemberKey(ctx, u.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	member, err := seal.UnwrapMemberKey(mk.Wrapped, w.pass[name])
	if err != nil {
		w.t.Fatal(err)
	}
	stored, err := w.db.BodyKeyWraps(ctx, u.ID, "")
	if err != nil {
		w.t.Fatal(err)
	}
	var wraps []seal.WrappedBodyKey
	for _, s := range stored {
		wraps = append(wraps, seal.WrappedBodyKey{Body: s.Body, Version: s.Version, Recipient: s.Recipient, Wrapped: s.Wrapped})
	}
	ids, err := seal.UnwrapBodyKeys(member, wraps)
	if err != nil {
		w.t.Fatalf("UnwrapBodyKeys(%s) = %v", name, err)
	}
	return ids["PROS-35"]
}

// reads checks which of the complaints name can open with ids.
func (w *keyWorld) reads(name string, ids []age.Identity, want map[*seal.Envelope]bool) {
	w.t.Helper()
	for e, ok := range want {
		_, err := e.Open(ids...)
		switch {
		case ok && err != nil:
			w.t.Errorf("%s cannot open complaint %s: %v", name, e.IdempotencyID, err)
		case !ok && !errors.Is(err, seal.ErrNoIdentity):
			w.t.Errorf("%s opening complaint %s = %v, want ErrNoIdentity", name, e.IdempotencyID, err)
		}
	}
}

func (w *keyWorld) run(want string, args ...string) string {
	w.t.Helper()
	out, err := adminBody(w.t, append(args, w.dbArgs...)...)
	if err != nil {
		w.t.Fatalf("admin body %s = %v\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.Contains(out, want) {
		w.t.Errorf("admin body %s printed\n%s\nwant it to contain %q", strings.Join(args, " "), out, want)
	}
	return out
}

func (w *keyWorld) fail(want string, args ...string) {
	w.t.Helper()
	out, err := adminBody(w.t, append(args, w.dbArgs...)...)
	if err == nil || !strings.Contains(err.Error(), want) {
		w.t.Errorf("admin body %s = %v\n%s\nwant an error containing %q", strings.Join(args, " "), err, out, want)
	}
}

// TestAdminBodyKeys runs the key life of a body end to end: init, a member
// added without and with a grant, a member removed, a post-quantum
// rotation, and the last member removed. After each step it checks who can
// read which complaint.
func TestAdminBodyKeys(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, _, dbArgs := migratedDB(t, engine)
			if err := db.SaveBodies(ctx, []qorgau.Body{{Code: "PROS-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "a", NameRU: "b", NameEN: "c"}}, nil); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"aigerim", "bolat", "dana", "erlan"} {
				if err := db.CreateUser(ctx, &qorgau.User{Name: name, Role: qorgau.RoleMember, Body: "PROS-35", PasswordHash: "x"}, nil); err != nil {
					t.Fatal(err)
				}
			}
			_, device, _ := ed25519.GenerateKey(nil)
			w := &keyWorld{t: t, db: db, dbArgs: dbArgs, pass: map[string]string{}, device: device}
			w.giveMemberKey("aigerim")
			w.giveMemberKey("bolat")

			w.fail("has no key; create one", "rotate-key", "--body", "PROS-35")
			w.run("key version 1 (X25519", "init", "--body", "PROS-35")
			w.fail("already has key version 1", "init", "--body", "PROS-35")
			c1 := w.seal()
			bolatBefore := w.identities("bolat")
			w.reads("aigerim", w.identities("aigerim"), map[*seal.Envelope]bool{c1: true})

			// dana joins without a grant: she reads from now on only.
			w.fail("dana has no member key yet", "add-member", "--body", "PROS-35", "--user", "dana")
			w.giveMemberKey("dana")
			out := w.run("key version 2", "add-member", "--body", "PROS-35", "--user", "dana")
			if !strings.Contains(out, "older complaints stay closed to dana") {
				t.Errorf("add-member output:\n%s", out)
			}
			c2 := w.seal()
			w.reads("dana", w.identities("dana"), map[*seal.Envelope]bool{c1: false, c2: true})
			w.reads("aigerim", w.identities("aigerim"), map[*seal.Envelope]bool{c1: true, c2: true})
			w.run("nothing to do", "add-member", "--body", "PROS-35", "--user", "dana")

			// erlan joins with aigerim's grant: he reads the past too. A
			// wrong passphrase changes nothing.
			w.giveMemberKey("erlan")
			t.Setenv("QORGAU_GRANT_PASSPHRASE", "not it")
			w.fail("does not unlock", "add-member", "--body", "PROS-35", "--user", "erlan", "--grant-from", "aigerim")
			if cur, _ := db.CurrentBodyKey(ctx, "PROS-35"); cur.Version != 2 {
				t.Errorf("current version after a refused grant = %d, want 2", cur.Version)
			}
			t.Setenv("QORGAU_GRANT_PASSPHRASE", w.pass["aigerim"])
			w.run("older key version(s) 1, 2 from aigerim", "add-member", "--body", "PROS-35", "--user", "erlan", "--grant-from", "aigerim")
			c3 := w.seal()
			w.reads("erlan", w.identities("erlan"), map[*seal.Envelope]bool{c1: true, c2: true, c3: true})

			// bolat is removed: no wrap is left to him, and the keys he had
			// unwrapped in an earlier session do not open what comes next.
			w.run("removed 3 key wrap(s) of bolat", "remove-member", "--body", "PROS-35", "--user", "bolat")
			if wraps, err := db.BodyKeyWraps(ctx, w.user("bolat").ID, ""); err != nil || len(wraps) != 0 {
				t.Errorf("bolat's wraps after removal = %d, %v; want none", len(wraps), err)
			}
			if got := w.identities("bolat"); len(got) != 0 {
				t.Errorf("bolat unwraps %d body keys after removal, want 0", len(got))
			}
			c4 := w.seal()
			w.reads("bolat (keys from before his removal)", bolatBefore, map[*seal.Envelope]bool{c1: true, c4: false})
			w.reads("dana", w.identities("dana"), map[*seal.Envelope]bool{c4: true})
			w.fail("bolat holds no key", "remove-member", "--body", "PROS-35", "--user", "bolat")

			// A post-quantum rotation keeps the holders.
			w.run("key version 5 (post-quantum", "rotate-key", "--body", "PROS-35", "--pq")
			c5 := w.seal()
			if !strings.Contains(string(c5.Ciphertext), "mlkem768x25519") {
				t.Error("complaint to a post-quantum key has no mlkem768x25519 stanza")
			}
			w.run("key version 6 (post-quantum", "rotate-key", "--body", "PROS-35")
			for _, name := range []string{"aigerim", "dana", "erlan"} {
				w.reads(name, w.identities(name), map[*seal.Envelope]bool{c4: true, c5: true})
			}
			out = w.run("VERSION", "keys", "--body", "PROS-35")
			for _, want := range []string{`(?m)^6 +post-quantum +[0-9a-f]{32} .* current +aigerim, dana, erlan$`,
				`(?m)^1 +X25519 .* aigerim, erlan$`, `members without the current key: bolat`} {
				if !regexp.MustCompile(want).MatchString(out) {
					t.Errorf("keys output does not match %s:\n%s", want, out)
				}
			}

			// Removing everyone retires the key: the body receives nothing.
			w.run("key version 7", "remove-member", "--body", "PROS-35", "--user", "aigerim")
			w.run("key version 8", "remove-member", "--body", "PROS-35", "--user", "dana")
			w.run("no key holder left", "remove-member", "--body", "PROS-35", "--user", "erlan")
			if _, err := db.CurrentBodyKey(ctx, "PROS-35"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
				t.Errorf("CurrentBodyKey after removing everyone = %v, want ENOTFOUND", err)
			}
			w.run("has no current key", "keys", "--body", "PROS-35")
			w.run("key version 9", "init", "--body", "PROS-35", "--pq")

			recs, err := db.AuditRecords(ctx, qorgau.AuditFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, r := range recs {
				count[r.Action]++
			}
			for action, want := range map[string]int{qorgau.AuditBodyKeyCreated: 2, qorgau.AuditBodyMemberAdded: 2, qorgau.AuditBodyKeyGranted: 1,
				qorgau.AuditBodyMemberRemoved: 4, qorgau.AuditBodyKeyRotated: 7, qorgau.AuditBodyKeyRetired: 1} {
				if count[action] != want {
					t.Errorf("audit records %s = %d, want %d", action, count[action], want)
				}
			}
			if _, err := db.VerifyAudit(ctx, nil); err != nil {
				t.Errorf("VerifyAudit = %v", err)
			}
		})
	}
}

func TestAdminBodyUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		usage bool   // a usage error, exit status 2
		want  string // in the error
	}{
		{nil, true, "say init"},
		{[]string{"frobnicate"}, true, "unknown command"},
		{[]string{"init", "-data", dir}, true, "--body is required"},
		{[]string{"add-member", "--body", "X", "-data", dir}, true, "--user is required"},
		{[]string{"init", "--nope"}, true, "flag provided but not defined"},
		{[]string{"init", "--body", "NOPE", "-data", dir}, false, `body "NOPE" not found`},
	} {
		_, err := adminBody(t, tc.args...)
		var ue usageError
		if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("admin body %v = %v, want a usage error %v containing %q", tc.args, err, tc.usage, tc.want)
		}
	}
	out, err := adminBody(t, "help")
	if err != nil || !strings.Contains(out, "ROTATES") || !strings.Contains(out, "--grant-from") {
		t.Errorf("admin body help = %v\n%s", err, out)
	}
}
