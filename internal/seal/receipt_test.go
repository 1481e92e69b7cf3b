package seal_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

func TestNewReceiptCode(t *testing.T) {
	const n = 2000
	seen := map[string]bool{}
	var counts [seal.CodeDigits][10]int
	for range n {
		c := seal.NewReceiptCode()
		if !regexp.MustCompile(`^[0-9]{16}$`).MatchString(c) {
			t.Fatalf("NewReceiptCode() = %q, want 16 digits", c)
		}
		if seen[c] {
			t.Fatalf("NewReceiptCode() repeated %s", c)
		}
		seen[c] = true
		for i := range c {
			counts[i][c[i]-'0']++
		}
	}
	// Each digit should appear about n/10 = 200 times at each position;
	// a uniform source falls outside 120..280 with probability below 1e-9.
	for pos, cs := range counts {
		for d, k := range cs {
			if k < 120 || k > 280 {
				t.Errorf("digit %d at position %d appeared %d times in %d codes, want about %d", d, pos, k, n, n/10)
			}
		}
	}
}

func TestParseCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"1234567890123456", "1234567890123456"},
		{"1234 5678 9012 3456", "1234567890123456"},
		{"1234-5678-9012-3456", "1234567890123456"},
		{" 0000 0000\t0000 0001 ", "0000000000000001"},
		{"1234\u00a05678 9012 3456", "1234567890123456"},
		{"", ""},
		{"123456789012345", ""},
		{"12345678901234567", ""},
		{"1234 5678 9012 345x", ""},
		{"١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", ""}, // Arabic-Indic digits are not digits here
		{"+234567890123456", ""},
		{strings.Repeat(" ", 60) + "1234567890123456", ""},
	} {
		got, err := seal.ParseCode(tc.in)
		if tc.want == "" {
			if qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("ParseCode(%q) = %q, %v; want EINVALID", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1234567890123456", "1234 5678 9012 3456"},
		{"1234-5678-9012-3456", "1234 5678 9012 3456"},
		{"12345", "12345"},
	} {
		if got := seal.FormatCode(tc.in); got != tc.want {
			t.Errorf("FormatCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDeriveReply(t *testing.T) {
	const code = "4921 0077 3150 8862"
	a := replyKey(t, code)
	b := replyKey(t, "4921-0077-3150-8862")
	if seal.RecipientOf(a.X25519) != seal.RecipientOf(b.X25519) || seal.RecipientOf(a.Hybrid) != seal.RecipientOf(b.Hybrid) || a.LookupID != b.LookupID {
		t.Errorf("DeriveReply is not deterministic for the same code and salt")
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.LookupID) {
		t.Errorf("LookupID = %q, want 32 hex digits", a.LookupID)
	}
	if !strings.HasPrefix(seal.RecipientOf(a.X25519), "age1") || !seal.IsPostQuantum(seal.RecipientOf(a.Hybrid)) {
		t.Errorf("reply recipients = %s, %s…; want X25519 and hybrid", seal.RecipientOf(a.X25519), seal.RecipientOf(a.Hybrid)[:12])
	}

	otherSalt, err := seal.DeriveReply(code, []byte("another deployment's salt, 32 b."))
	if err != nil {
		t.Fatal(err)
	}
	otherCode := replyKey(t, "4921 0077 3150 8863")
	for name, k := range map[string]*seal.ReplyKey{"another salt": otherSalt, "another code": otherCode} {
		if seal.RecipientOf(k.X25519) == seal.RecipientOf(a.X25519) || seal.RecipientOf(k.Hybrid) == seal.RecipientOf(a.Hybrid) || k.LookupID == a.LookupID {
			t.Errorf("DeriveReply with %s shares a key or lookup id", name)
		}
	}
	// The three outputs are independent: no recipient encodes the lookup id.
	if strings.Contains(seal.RecipientOf(a.X25519), a.LookupID[:8]) {
		t.Errorf("lookup id appears in the reply recipient")
	}

	if _, err := seal.DeriveReply(code, []byte("short")); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("DeriveReply with a 5-byte salt = %v, want EINVALID", err)
	}
	if _, err := seal.DeriveReply("1234", testSalt); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("DeriveReply with a short code = %v, want EINVALID", err)
	}
}

func TestReply(t *testing.T) {
	reply := replyKey(t, "1111 2222 3333 4444")
	stranger := replyKey(t, "1111 2222 3333 4445")
	for _, pq := range []bool{false, true} {
		bodyIDs, body := bodyKeys(t, pq)
		b, err := seal.SealReply("Ваша жалоба зарегистрирована под номером 17.", reply.Recipient(pq), body[0])
		if err != nil {
			t.Fatalf("SealReply(pq=%v) = %v", pq, err)
		}
		if wantPQ := strings.Contains(string(b), "mlkem768x25519"); wantPQ != pq {
			t.Errorf("SealReply(pq=%v) post-quantum stanzas = %v", pq, wantPQ)
		}
		for name, ids := range map[string][]age.Identity{"complainant": reply.Identities(), "body": bodyIDs} {
			text, err := seal.OpenReply(b, ids...)
			if err != nil || text != "Ваша жалоба зарегистрирована под номером 17." {
				t.Errorf("OpenReply(pq=%v) by the %s = %q, %v", pq, name, text, err)
			}
		}
		if _, err := seal.OpenReply(b, stranger.Identities()...); !errors.Is(err, seal.ErrNoIdentity) {
			t.Errorf("OpenReply(pq=%v) with another code's key = %v, want ErrNoIdentity", pq, err)
		}
		b[len(b)-1] ^= 1
		if _, err := seal.OpenReply(b, reply.Identities()...); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("OpenReply(pq=%v) of a changed reply = %v, want EINVALID", pq, err)
		}
	}
	// A hybrid body answering a classic reply key: mixed, so classic.
	_, pqBody := bodyKeys(t, true)
	if _, err := seal.SealReply("ok", reply.Recipient(false), pqBody[0]); err != nil {
		t.Errorf("SealReply to mixed kinds = %v, want nil", err)
	}
	for _, text := range []string{"", "  ", strings.Repeat("a", seal.MaxReplyText+1), "\xff"} {
		if _, err := seal.SealReply(text, reply.Recipient(false)); qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("SealReply(%.10q…) = %v, want EINVALID", text, err)
		}
	}
	if _, err := seal.SealReply("hello"); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("SealReply to nobody = %v, want EINVALID", err)
	}
}

func BenchmarkDeriveReply(b *testing.B) {
	for b.Loop() {
		if _, err := seal.DeriveReply("1234567890123456", testSalt); err != nil {
			b.Fatal(err)
		}
	}
}
