package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedKey returns an Ed25519 key from a fixed seed, so that golden files
// are stable (Ed25519 signatures are deterministic).
func fixedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func testDirectory() *seal.Directory {
	return &seal.Directory{
		Version:   7,
		Issued:    time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		ReplySalt: []byte("a deployment salt of 32 bytes..."),
		Bodies: []seal.DirectoryBody{
			{Body: qorgau.Body{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "Алдын алу ұлттық механизмі",
				NameRU: "Национальный превентивный механизм", NameEN: "National Preventive Mechanism"},
				KeyVersion: 2, Recipient: "age14w0848dxwwv8pr255dyq6s285yrdw9s258rdvrt8ndtts26945xsz5uckw"},
			{Body: qorgau.Body{Code: "PROS-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "Қарағанды облысының прокуратурасы",
				NameRU: "Прокуратура Карагандинской области", NameEN: "Karaganda Region Prosecutor's Office"},
				KeyVersion: 3, Recipient: "age1zy89ekjchly3mzv57gn24vxyu9gtzxsavaannhg748fdtscn4uvqlxce6t"},
		},
	}
}

func TestDirectoryGolden(t *testing.T) {
	b, err := seal.SignDirectory(testDirectory(), fixedKey(1))
	if err != nil {
		t.Fatalf("SignDirectory = %v", err)
	}
	golden := filepath.Join("testdata", "directory.note")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("SignDirectory =\n%s\nwant (%s)\n%s", b, golden, want)
	}
}

func TestDirectory(t *testing.T) {
	key := fixedKey(1)
	pub := key.Public().(ed25519.PublicKey)
	d := testDirectory()
	b, err := seal.SignDirectory(d, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := seal.VerifyDirectory(b, pub, 0)
	if err != nil {
		t.Fatalf("VerifyDirectory = %v", err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("VerifyDirectory = %+v, want %+v", got, d)
	}
	if got.Body("PROS-35") == nil || got.Body("PROS-35").KeyVersion != 3 || got.Body("nope") != nil {
		t.Errorf("Directory.Body lookups wrong")
	}
	rs, err := got.Recipients("PROS-35", "NPM")
	if err != nil || len(rs) != 2 || rs[0].(fmt.Stringer).String() != d.Bodies[1].Recipient {
		t.Errorf("Recipients(PROS-35, NPM) = %v, %v", rs, err)
	}
	if _, err := got.Recipients("NPM", "NOPE"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		t.Errorf("Recipients(NOPE) = %v, want ENOTFOUND", err)
	}
	for _, have := range []uint64{6, 7} {
		if _, err := seal.VerifyDirectory(b, pub, have); err != nil {
			t.Errorf("VerifyDirectory(have=%d) of version 7 = %v, want nil", have, err)
		}
	}
	if _, err := seal.VerifyDirectory(b, pub, 8); !errors.Is(err, seal.ErrDirectoryRollback) {
		t.Errorf("VerifyDirectory(have=8) of version 7 = %v, want ErrDirectoryRollback", err)
	}
	other := fixedKey(2)
	if _, err := seal.VerifyDirectory(b, other.Public().(ed25519.PublicKey), 0); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("VerifyDirectory with another key = %v, want EUNAUTHORIZED", err)
	}
	forged, err := seal.SignDirectory(d, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.VerifyDirectory(forged, pub, 0); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("VerifyDirectory of a directory signed by another key = %v, want EUNAUTHORIZED", err)
	}
	changed := bytes.Replace(b, []byte("version 7"), []byte("version 9"), 1)
	if _, err := seal.VerifyDirectory(changed, pub, 0); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("VerifyDirectory of a changed directory = %v, want EUNAUTHORIZED", err)
	}
	if _, err := seal.VerifyDirectory([]byte("hello\n"), pub, 0); qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("VerifyDirectory of a non-note = %v, want EINVALID", err)
	}
	vkey, err := seal.DirectoryVerifierKey(pub)
	if err != nil || !strings.HasPrefix(vkey, seal.DirectoryKeyName+"+") {
		t.Errorf("DirectoryVerifierKey = %q, %v", vkey, err)
	}
}

func TestDirectoryValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d *seal.Directory)
	}{
		{"version 0", func(d *seal.Directory) { d.Version = 0 }},
		{"no issue time", func(d *seal.Directory) { d.Issued = time.Time{} }},
		{"fractional issue time", func(d *seal.Directory) { d.Issued = d.Issued.Add(time.Millisecond) }},
		{"short salt", func(d *seal.Directory) { d.ReplySalt = d.ReplySalt[:8] }},
		{"unsorted", func(d *seal.Directory) { d.Bodies[0], d.Bodies[1] = d.Bodies[1], d.Bodies[0] }},
		{"repeated", func(d *seal.Directory) { d.Bodies[1] = d.Bodies[0] }},
		{"bad code", func(d *seal.Directory) { d.Bodies[0].Code = "N P M" }},
		{"newline in a name", func(d *seal.Directory) { d.Bodies[0].NameEN = "National\nPreventive" }},
		{"leading space in a name", func(d *seal.Directory) { d.Bodies[0].NameRU = " Национальный" }},
		{"bad kind", func(d *seal.Directory) { d.Bodies[0].Kind = "police" }},
		{"key version 0", func(d *seal.Directory) { d.Bodies[0].KeyVersion = 0 }},
		{"bad recipient", func(d *seal.Directory) { d.Bodies[0].Recipient = "age1nope" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDirectory()
			tc.change(d)
			if _, err := seal.SignDirectory(d, fixedKey(1)); qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("SignDirectory = %v, want EINVALID", err)
			}
		})
	}
}
