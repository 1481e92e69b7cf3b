package tlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

func TestRecord(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, SaltSize)
	r := Record{
		Kind:       "complaint",
		Commitment: Commit(salt, []byte("envelope")),
		Meta:       map[string]string{"region": "KZ-35", "facility-type": "colony-medium", "body": "ombudsman"},
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(append([]byte{}, salt...), "envelope"...))
	want := "qorgau-log-record v1\nkind complaint\ncommitment " + hexString(sum[:]) + "\n" +
		"meta body ombudsman\nmeta facility-type colony-medium\nmeta region KZ-35\n"
	if string(b) != want {
		t.Fatalf("Marshal = %q, want %q", b, want)
	}
	got, err := ParseRecord(b)
	if err != nil || got.Kind != r.Kind || got.Commitment != r.Commitment || len(got.Meta) != 3 || got.Meta["region"] != "KZ-35" {
		t.Fatalf("ParseRecord = %+v, %v", got, err)
	}
	empty, _ := (&Record{Kind: "status"}).Marshal()
	if got, err := ParseRecord(empty); err != nil || got.Meta != nil {
		t.Fatalf("ParseRecord(no meta) = %+v, %v", got, err)
	}

	good := string(b)
	for name, bad := range map[string]string{
		"empty":            "",
		"no header":        strings.TrimPrefix(good, "qorgau-log-record v1\n"),
		"other version":    strings.Replace(good, "v1", "v2", 1),
		"CRLF":             strings.ReplaceAll(good, "\n", "\r\n"),
		"no final newline": strings.TrimSuffix(good, "\n"),
		"upper hex":        strings.Replace(good, "commitment "+hexString(sum[:]), "commitment "+strings.ToUpper(hexString(sum[:])), 1),
		"short commitment": strings.Replace(good, hexString(sum[:]), hexString(sum[:31]), 1),
		"unsorted meta":    strings.Replace(good, "meta body ombudsman\nmeta facility-type colony-medium\n", "meta facility-type colony-medium\nmeta body ombudsman\n", 1),
		"repeated meta":    strings.Replace(good, "meta body ombudsman\n", "meta body ombudsman\nmeta body ombudsman\n", 1),
		"meta no value":    good + "meta zzz\n",
		"upper kind":       strings.Replace(good, "kind complaint", "kind Complaint", 1),
		"empty kind":       strings.Replace(good, "kind complaint", "kind ", 1),
		"trailing line":    good + "\n",
		"unknown line":     good + "extra x\n",
		"control in value": strings.Replace(good, "KZ-35", "KZ\t35", 1),
		"bad utf8":         strings.Replace(good, "KZ-35", "KZ\xff35", 1),
		"swapped lines":    strings.Replace(good, "kind complaint\ncommitment "+hexString(sum[:]), "commitment "+hexString(sum[:])+"\nkind complaint", 1),
	} {
		if _, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("ParseRecord(%s) = nil error, want one", name)
		}
	}
	for _, r := range []Record{
		{Kind: ""},
		{Kind: "1abc"},
		{Kind: strings.Repeat("a", 33)},
		{Kind: "a", Meta: map[string]string{"": "x"}},
		{Kind: "a", Meta: map[string]string{"a b": "x"}},
		{Kind: "a", Meta: map[string]string{"a": strings.Repeat("x", 257)}},
		{Kind: "a", Meta: map[string]string{"a": "x\u2028"}},
	} {
		if _, err := r.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) = nil error, want one", r)
		}
	}
	many := Record{Kind: "a", Meta: map[string]string{}}
	for i := 0; i < 17; i++ {
		many.Meta[string(rune('a'+i))] = "v"
	}
	if _, err := many.Marshal(); err == nil {
		t.Error("Marshal with 17 meta keys = nil error, want one")
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

func TestCheckpoint(t *testing.T) {
	root := sha256.Sum256([]byte("root"))
	c := Checkpoint{Origin: "qorgau.example/log", Size: 1234, Root: root}
	got, err := ParseCheckpoint(c.String())
	if err != nil || got != c {
		t.Fatalf("ParseCheckpoint(%q) = %+v, %v", c.String(), got, err)
	}
	if got, err := ParseCheckpoint(c.String() + "ext line\nanother\n"); err != nil || got != c {
		t.Errorf("with extension lines: %+v, %v", got, err)
	}
	r64 := base64.StdEncoding.EncodeToString(root[:])
	for _, bad := range []string{
		"", "a\n", "a\n1\n", "a\n1\n" + r64, "\n1\n" + r64 + "\n", "a\n01\n" + r64 + "\n", "a\n-1\n" + r64 + "\n",
		"a\n+1\n" + r64 + "\n", "a\n1 \n" + r64 + "\n", "a\n1\n" + r64[:40] + "\n", "a\n1\n" + r64 + "\n\n",
		"a\n1\n" + r64 + "\next\n\n", "a\n1\n" + r64 + "\next", "a\n99999999999999999999\n" + r64 + "\n",
		"a\n1\n" + base64.StdEncoding.EncodeToString(root[:31]) + "\n",
	} {
		if c, err := ParseCheckpoint(bad); err == nil {
			t.Errorf("ParseCheckpoint(%q) = %+v, want an error", bad, c)
		}
	}
}

// testReceipt returns a valid receipt of one object in a tree of 5.
func testReceipt(t testing.TB) (*Receipt, []byte, note.Verifier) {
	t.Helper()
	cfg := testConfig(t)
	v, _ := note.NewVerifier(cfg.VerifierKey)
	object := []byte("the envelope")
	salt := bytes.Repeat([]byte{0x42}, SaltSize)
	rec, err := (&Record{Kind: "complaint", Commitment: Commit(salt, object), Meta: map[string]string{"region": "KZ-35"}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := newFrontier()
	all := map[int64]sumtlog.Hash{}
	for i := 0; i < 5; i++ {
		data := []byte{byte(i)}
		if i == 3 {
			data = rec
		}
		n := f.n
		hs, err := f.append(sumtlog.RecordHash(data))
		if err != nil {
			t.Fatal(err)
		}
		for k, h := range hs {
			all[sumtlog.StoredHashIndex(0, n)+int64(k)] = h
		}
	}
	root, _ := f.root()
	proof, err := sumtlog.ProveRecord(5, 3, hashMap{m: all})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := note.Sign(&note.Note{Text: Checkpoint{Origin: testOrigin, Size: 5, Root: root}.String()}, cfg.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return &Receipt{Index: 3, Salt: salt, Record: rec, Proof: proof, Checkpoint: cp}, object, v
}

func TestReceipt(t *testing.T) {
	r, object, v := testReceipt(t)
	b := r.Marshal()
	if !bytes.HasPrefix(b, []byte("c2sp.org/tlog-proof@v1\nextra ")) {
		t.Fatalf("Marshal = %q, want a tlog-proof with extra data", b)
	}
	if err := VerifyReceipt(b, object, v); err != nil {
		t.Fatalf("VerifyReceipt = %v", err)
	}
	got, err := ParseReceipt(b)
	if err != nil || !bytes.Equal(got.Marshal(), b) {
		t.Fatalf("ParseReceipt round trip: %v", err)
	}

	mutate := func(f func(r *Receipt)) []byte {
		c := *r
		c.Proof = append(sumtlog.RecordProof{}, r.Proof...)
		c.Salt = append([]byte{}, r.Salt...)
		f(&c)
		return c.Marshal()
	}
	_, otherV, _ := GenerateKey(testOrigin)
	ov, _ := note.NewVerifier(otherV)
	for name, c := range map[string]struct {
		receipt []byte
		object  []byte
		v       note.Verifier
	}{
		"other object":    {b, []byte("the envelope!"), v},
		"other key":       {b, object, ov},
		"other index":     {mutate(func(r *Receipt) { r.Index = 2 }), object, v},
		"index past size": {mutate(func(r *Receipt) { r.Index = 5 }), object, v},
		"other salt":      {mutate(func(r *Receipt) { r.Salt[0] ^= 1 }), object, v},
		"proof hash":      {mutate(func(r *Receipt) { r.Proof[0][0] ^= 1 }), object, v},
		"short proof":     {mutate(func(r *Receipt) { r.Proof = r.Proof[1:] }), object, v},
		"long proof":      {mutate(func(r *Receipt) { r.Proof = append(r.Proof, r.Proof[0]) }), object, v},
		"checkpoint":      {mutate(func(r *Receipt) { r.Checkpoint = bytes.Replace(r.Checkpoint, []byte("\n5\n"), []byte("\n6\n"), 1) }), object, v},
		"other record": {mutate(func(r *Receipt) {
			rec, _ := ParseRecord(r.Record)
			rec.Meta["region"] = "KZ-11"
			r.Record, _ = rec.Marshal()
		}), object, v},
	} {
		if err := VerifyReceipt(c.receipt, c.object, c.v); err == nil {
			t.Errorf("VerifyReceipt(%s) = nil, want an error", name)
		}
	}

	s := string(b)
	for name, bad := range map[string]string{
		"empty":           "",
		"header":          strings.Replace(s, "@v1", "@v2", 1),
		"CRLF":            strings.ReplaceAll(s, "\n", "\r\n"),
		"index 03":        strings.Replace(s, "index 3\n", "index 03\n", 1),
		"index +3":        strings.Replace(s, "index 3\n", "index +3\n", 1),
		"no extra":        strings.Join(append(strings.SplitN(s, "\n", 3)[:1], strings.SplitN(s, "\n", 3)[2]), "\n"),
		"short salt":      strings.Replace(s, strings.SplitN(s, "\n", 3)[1], "extra "+base64.StdEncoding.EncodeToString(make([]byte, 31)), 1),
		"unpadded base64": strings.Replace(s, "=\n", "\n", 1),
		"truncated":       s[:len(s)-2],
		"no checkpoint":   s[:strings.Index(s, "\n\n")+2],
		"too big":         s + strings.Repeat("x", maxReceiptSize),
	} {
		if _, err := ParseReceipt([]byte(bad)); err == nil {
			t.Errorf("ParseReceipt(%s) = nil error, want one", name)
		}
	}
}

// Fuzzers. Run with go test -fuzz=FuzzX ./internal/tlog; the seeds run as
// ordinary tests.

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/0/x001/x234/067.p/8", "tile/entries/000.p/1", "tile/63/x999/999",
		"tile/entries/x009/x223/x372/x036/x854/x775/807", "tile/0/000.p/256", "tile/00/000", "tile/0/x000/001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseTilePath(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("parseTilePath(%q) = %+v, which formats as %q", s, a, a.String())
		}
		if a.L < -1 || a.L > 63 || a.N < 0 || a.W < 1 || a.W > 256 {
			t.Fatalf("parseTilePath(%q) = %+v: out of range", s, a)
		}
		// sumdb's parser agrees on hash tiles, once the height is put in.
		if a.L >= 0 {
			want := sumtlog.Tile{H: 8, L: a.L, N: a.N, W: a.W}
			got, err := sumtlog.ParseTilePath(strings.Replace(s, "tile/", "tile/8/", 1))
			if err != nil || got != want {
				t.Fatalf("sumtlog.ParseTilePath disagrees on %q: %+v, %v", s, got, err)
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	for _, r := range []Record{
		{Kind: "complaint", Meta: map[string]string{"region": "KZ-35", "body": "ombudsman"}},
		{Kind: "status"},
		{Kind: "evidence", Meta: map[string]string{"a.b_c-d": "Ақмола облысы"}},
	} {
		b, _ := r.Marshal()
		f.Add(b)
	}
	f.Add([]byte("qorgau-log-record v1\nkind x\ncommitment 00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("ParseRecord(%q) = %+v, which marshals as %q, %v", b, r, again, err)
		}
	})
}

func FuzzParseReceipt(f *testing.F) {
	r, object, v := testReceipt(f)
	f.Add(r.Marshal())
	r.Proof = nil
	f.Add(r.Marshal())
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\na\n0\n47DEQpj8HBSa+/TEmw+pJ5bHk0JqTp5V7YhH4r0MXHM=\n\n— a AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceipt(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("ParseReceipt(%q) does not marshal back", b)
		}
		r.Verify(object, v) // must not panic
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add("qorgau.example/log\n0\n47DEQpj8HBSa+/TEmw+pJ5bHk0JqTp5V7YhH4r0MXHM=\n")
	f.Add("qorgau.example/log\n1234\n47DEQpj8HBSa+/TEmw+pJ5bHk0JqTp5V7YhH4r0MXHM=\next\n")
	f.Add("a\n01\nAAAA\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCheckpoint(s)
		if err != nil {
			return
		}
		if c.Origin == "" || strings.Contains(c.Origin, "\n") || c.Size < 0 {
			t.Fatalf("ParseCheckpoint(%q) = %+v", s, c)
		}
		if !strings.HasPrefix(s, c.String()) {
			t.Fatalf("ParseCheckpoint(%q) = %+v, which formats as %q", s, c, c.String())
		}
		// Signed and opened again, it is the same checkpoint.
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("ParseCheckpoint accepted an unterminated %q", s)
		}
	})
}
