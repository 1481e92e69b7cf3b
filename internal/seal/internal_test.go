package seal

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func TestBech32(t *testing.T) {
	// BIP 173 test vectors with no data, and one with data.
	for _, tc := range []struct {
		hrp  string
		data []byte
		want string
	}{
		{"a", nil, "a12uel5l"},
		{"abcdef", []byte{0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf, 0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf}, "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"},
	} {
		if got := bech32Encode(tc.hrp, tc.data); got != tc.want {
			t.Errorf("bech32Encode(%q, %x) = %q, want %q", tc.hrp, tc.data, got, tc.want)
		}
	}
	// age's own parser and encoder agree with ours on identities.
	for range 20 {
		x, _ := age.GenerateX25519Identity()
		h, _ := age.GenerateHybridIdentity()
		for _, s := range []string{x.String(), h.String()} {
			id, err := ParseIdentity(s)
			if err != nil {
				t.Fatal(err)
			}
			_ = id
		}
	}
	scalar := bytes.Repeat([]byte{7}, 32)
	id, err := x25519FromScalar(scalar)
	if err != nil {
		t.Fatalf("x25519FromScalar = %v", err)
	}
	if want := strings.ToUpper(bech32Encode("AGE-SECRET-KEY-", scalar)); id.String() != want {
		t.Errorf("age's encoding of the derived identity = %s, want ours %s", id.String(), want)
	}
	hid, err := hybridFromSeed(scalar)
	if err != nil {
		t.Fatalf("hybridFromSeed = %v", err)
	}
	if want := strings.ToUpper(bech32Encode("AGE-SECRET-KEY-PQ-", scalar)); hid.String() != want {
		t.Errorf("age's encoding of the derived hybrid identity = %s, want ours %s", hid.String(), want)
	}
}

// The fuzzers below take outside bytes. Each checks that the parser never
// panics and that whatever it accepts is in canonical form.

func FuzzParseEnvelope(f *testing.F) {
	_, dev, _ := ed25519.GenerateKey(nil)
	x, _ := age.GenerateX25519Identity()
	h, _ := age.GenerateHybridIdentity()
	for _, to := range [][]age.Recipient{{x.Recipient()}, {h.Recipient()}} {
		e, err := Seal(&Document{V: 1, Kind: KindComplaint, Category: "other", Text: "t", Lang: "kk", Facility: "F",
			Bodies: []string{"B"}, Written: time.Unix(1, 0)}, to, dev, "T-1", "i", Options{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.Marshal())
	}
	f.Add([]byte("qorgau-envelope/v1\ndevice a\nidempotency b\nkey 00000000000000000000000000000000\nsig \n---\nage-encryption.org/v1\n"))
	f.Add([]byte("\n---\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b, 1<<20)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Errorf("ParseEnvelope accepted a non-canonical encoding:\n%q\nre-encodes as\n%q", b, e.Marshal())
		}
		e.Digest()
		e.Open(x, h) // must not panic on any accepted envelope
	})
}

func FuzzParseDirectory(f *testing.F) {
	d := &Directory{Version: 1, Issued: time.Unix(1767225600, 0).UTC(), ReplySalt: make([]byte, 16),
		Bodies: []DirectoryBody{{KeyVersion: 1, Recipient: "age14w0848dxwwv8pr255dyq6s285yrdw9s258rdvrt8ndtts26945xsz5uckw"}}}
	d.Bodies[0].Code, d.Bodies[0].Kind, d.Bodies[0].NameKK, d.Bodies[0].NameRU, d.Bodies[0].NameEN = "OMB", "ombudsman", "Омбудсмен", "Омбудсмен", "Ombudsman"
	f.Add(d.text())
	d.Bodies[0].Region = "KZ-71"
	f.Add(d.text())
	f.Add(directoryMagic + "\nversion 1\nissued 2026-01-01T00:00:00Z\nreply-salt AAAAAAAAAAAAAAAAAAAAAA\n")
	f.Fuzz(func(t *testing.T, text string) {
		d, err := parseDirectory(text)
		if err != nil {
			return
		}
		if d.text() != text {
			t.Errorf("parseDirectory accepted a non-canonical text:\n%q\nre-encodes as\n%q", text, d.text())
		}
	})
}

func FuzzVerifyDirectory(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	d := &Directory{Version: 3, Issued: time.Unix(1767225600, 0).UTC(), ReplySalt: make([]byte, 16)}
	b, err := SignDirectory(d, priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("qorgau-directory/v1\n\n— qorgau-directory AAAA\n"))
	pub := priv.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := VerifyDirectory(b, pub, 2)
		if err != nil {
			return
		}
		if d.Version < 2 {
			t.Errorf("VerifyDirectory accepted version %d below 2", d.Version)
		}
	})
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"1234 5678 9012 3456", "1234-5678-9012-3456", "123", "", "１２３４５６７８９０１２３４５６", "0000000000000000\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			return
		}
		if len(c) != CodeDigits || strings.Trim(c, "0123456789") != "" {
			t.Errorf("ParseCode(%q) = %q, not 16 digits", s, c)
		}
		if again, err := ParseCode(FormatCode(c)); err != nil || again != c {
			t.Errorf("ParseCode(FormatCode(%q)) = %q, %v", c, again, err)
		}
	})
}

func FuzzParseMemberWrap(f *testing.F) {
	old := MemberKeyParams
	MemberKeyParams = KDFParams{Memory: 64, Time: 1, Threads: 1} // cheap seeds; parsing does not run Argon2id
	_, w, err := NewMemberKey("passphrase")
	MemberKeyParams = old
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w)
	f.Add([]byte(memberKeyMagic + "\nrecipient age1\nargon2id m=1,t=1,p=1 AAAA\nAAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mw, err := parseMemberWrap(b)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, mw.aad) || mw.params.Time < 1 || mw.params.Threads < 1 || mw.params.Memory > maxKDFMemory {
			t.Errorf("parseMemberWrap accepted %q with params %+v", b, mw.params)
		}
	})
}

func FuzzUnwrapBodyKey(f *testing.F) {
	member, _ := age.GenerateX25519Identity()
	for _, pq := range []bool{false, true} {
		body, _ := NewBodyKey(pq)
		w, err := WrapBodyKey(body, member.Recipient())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w)
	}
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\n\n--- AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		UnwrapBodyKey(b, "age1x", member)
		OpenReply(b, member)
	})
}
