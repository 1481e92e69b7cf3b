package seal_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

func TestMemberKey(t *testing.T) {
	const pass = "correct horse battery staple"
	recipient, wrapped, err := seal.NewMemberKey(pass)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(recipient, "age1") || seal.IsPostQuantum(recipient) {
		t.Errorf("NewMemberKey recipient = %q, want an X25519 recipient", recipient)
	}
	if bytes.Contains(wrapped, []byte("AGE-SECRET-KEY")) {
		t.Fatal("the wrap holds the identity in clear")
	}
	if got, err := seal.MemberKeyRecipient(wrapped); err != nil || got != recipient {
		t.Errorf("MemberKeyRecipient = %q, %v; want %q", got, err, recipient)
	}

	id, err := seal.UnwrapMemberKey(wrapped, pass)
	if err != nil {
		t.Fatalf("UnwrapMemberKey = %v", err)
	}
	if id.Recipient().String() != recipient {
		t.Errorf("unwrapped key's recipient = %s, want %s", id.Recipient(), recipient)
	}
	if _, err := seal.UnwrapMemberKey(wrapped, pass+"!"); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("UnwrapMemberKey with a wrong passphrase = %v, want EUNAUTHORIZED", err)
	}

	const newPass = "a new passphrase for 2026"
	rewrapped, err := seal.RewrapMemberKey(wrapped, pass, newPass)
	if err != nil {
		t.Fatalf("RewrapMemberKey = %v", err)
	}
	if bytes.Equal(rewrapped, wrapped) {
		t.Error("RewrapMemberKey returned the old wrap")
	}
	if _, err := seal.UnwrapMemberKey(rewrapped, pass); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("UnwrapMemberKey of the new wrap with the old passphrase = %v, want EUNAUTHORIZED", err)
	}
	id2, err := seal.UnwrapMemberKey(rewrapped, newPass)
	if err != nil || id2.String() != id.String() {
		t.Errorf("UnwrapMemberKey of the new wrap = %v; want the same key", err)
	}
	if _, err := seal.RewrapMemberKey(wrapped, "wrong", newPass); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("RewrapMemberKey with a wrong old passphrase = %v, want EUNAUTHORIZED", err)
	}
	if _, _, err := seal.NewMemberKey(""); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("NewMemberKey(\"\") = %v, want EINVALID", err)
	}

	// The parameters, salt and recipient are bound to the ciphertext.
	other, _ := age.GenerateX25519Identity()
	for _, tc := range []struct{ name, from, to, code string }{
		{"fewer passes", "t=3", "t=2", qorgau.EUNAUTHORIZED},
		{"less memory", "m=65536", "m=32768", qorgau.EUNAUTHORIZED},
		{"another recipient", recipient, other.Recipient().String(), qorgau.EUNAUTHORIZED},
		{"absurd memory", "m=65536", "m=4194304", qorgau.EINVALID},
		{"zero passes", "t=3", "t=0", qorgau.EINVALID},
		{"other format", "qorgau-member-key/v1", "qorgau-member-key/v2", qorgau.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := bytes.Replace(wrapped, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(changed, wrapped) {
				t.Fatalf("%q not found in the wrap", tc.from)
			}
			if _, err := seal.UnwrapMemberKey(changed, pass); qorgau.ErrorCode(err) != tc.code {
				t.Errorf("UnwrapMemberKey of a wrap with %s = %v, want %s", tc.name, err, tc.code)
			}
		})
	}
}

func TestBodyKeyWrap(t *testing.T) {
	member, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := age.GenerateX25519Identity()
	for _, pq := range []bool{false, true} {
		body, err := seal.NewBodyKey(pq)
		if err != nil {
			t.Fatal(err)
		}
		recipient := seal.RecipientOf(body)
		if seal.IsPostQuantum(recipient) != pq {
			t.Errorf("NewBodyKey(%v) recipient %.12s…", pq, recipient)
		}
		wrapped, err := seal.WrapBodyKey(body, member.Recipient())
		if err != nil {
			t.Fatalf("WrapBodyKey(pq=%v) = %v", pq, err)
		}
		got, err := seal.UnwrapBodyKey(wrapped, recipient, member)
		if err != nil || seal.RecipientOf(got) != recipient {
			t.Errorf("UnwrapBodyKey(pq=%v) = %v, %v; want the body key", pq, got, err)
		}
		if _, err := seal.UnwrapBodyKey(wrapped, recipient, stranger); !errors.Is(err, seal.ErrNoIdentity) {
			t.Errorf("UnwrapBodyKey(pq=%v) by another member = %v, want ErrNoIdentity", pq, err)
		}
		if _, err := seal.UnwrapBodyKey(wrapped, stranger.Recipient().String(), member); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("UnwrapBodyKey(pq=%v) filed under another key = %v, want EINVALID", pq, err)
		}
	}
}

func TestUnwrapBodyKeys(t *testing.T) {
	member, _ := age.GenerateX25519Identity()
	stranger, _ := age.GenerateX25519Identity()
	var wraps []seal.WrappedBodyKey
	want := map[string][]string{}
	for _, k := range []struct {
		body    string
		version int
		to      *age.X25519Identity
	}{
		{"PROS-35", 1, member}, {"PROS-35", 3, member}, {"PROS-35", 2, member},
		{"NPM", 1, member}, {"NPM", 2, stranger}, // the member was removed before version 2
	} {
		id, _ := seal.NewBodyKey(k.version == 3)
		w, err := seal.WrapBodyKey(id, k.to.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		wraps = append(wraps, seal.WrappedBodyKey{Body: k.body, Version: k.version, Recipient: seal.RecipientOf(id), Wrapped: w})
		if k.to == member {
			want[k.body] = append(want[k.body], seal.RecipientOf(id))
		}
	}
	// Newest first.
	want["PROS-35"] = []string{want["PROS-35"][1], want["PROS-35"][2], want["PROS-35"][0]}

	ids, err := seal.UnwrapBodyKeys(member, wraps)
	if err == nil || !strings.Contains(err.Error(), "key 2 of body NPM") || !errors.Is(err, seal.ErrNoIdentity) {
		t.Errorf("UnwrapBodyKeys error = %v, want one naming key 2 of NPM", err)
	}
	for body, w := range want {
		var got []string
		for _, id := range ids[body] {
			got = append(got, seal.RecipientOf(id))
		}
		if strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("UnwrapBodyKeys[%s] = %d keys in some order, want %d newest first", body, len(got), len(w))
		}
	}
	if len(ids) != 2 {
		t.Errorf("UnwrapBodyKeys bodies = %d, want 2", len(ids))
	}
}

func TestParseRecipient(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	h, _ := age.GenerateHybridIdentity()
	for _, s := range []string{x.Recipient().String(), h.Recipient().String()} {
		r, err := seal.ParseRecipient(s)
		if err != nil {
			t.Errorf("ParseRecipient(%.12s…) = %v", s, err)
			continue
		}
		if got := seal.KeyID(s); len(got) != 32 {
			t.Errorf("KeyID = %q, want 32 hex digits", got)
		}
		_ = r
	}
	for _, s := range []string{"", "age1", x.String(), "ssh-ed25519 AAAA", strings.ToUpper(x.Recipient().String()) + "x"} {
		if _, err := seal.ParseRecipient(s); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("ParseRecipient(%.16q) = %v, want EINVALID", s, err)
		}
	}
	if _, err := seal.ParseIdentity(x.String()); err != nil {
		t.Errorf("ParseIdentity(X25519) = %v", err)
	}
	if _, err := seal.ParseIdentity(h.String()); err != nil {
		t.Errorf("ParseIdentity(hybrid) = %v", err)
	}
	if _, err := seal.ParseIdentity(x.Recipient().String()); err == nil || strings.Contains(err.Error(), "age1") {
		t.Errorf("ParseIdentity(a recipient) = %v, want an error that does not echo its input", err)
	}
	// A fixed vector, so that key ids never change between releases.
	if got, want := seal.KeyID("age1example"), "1d6922a5adf38fb326784987ee7280ba"; got != want {
		t.Errorf("KeyID(age1example) = %s, want %s", got, want)
	}
}

func BenchmarkUnwrapMemberKey(b *testing.B) {
	_, wrapped, err := seal.NewMemberKey("passphrase")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := seal.UnwrapMemberKey(wrapped, "passphrase"); err != nil {
			b.Fatal(err)
		}
	}
}
