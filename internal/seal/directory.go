package seal

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"qorgau.kz/qorgau"
)

// DirectoryKeyName is the signer name of the directory key in signed notes.
const DirectoryKeyName = "qorgau-directory"

const (
	directoryMagic = "qorgau-directory/v1"
	maxDirectory   = 8 << 20
	maxBodies      = 10000
)

// Directory is the list of bodies a terminal may send complaints to, with
// their current public keys, as signed by the directory key.
type Directory struct {
	// Version increases with every directory issued. A terminal keeps the
	// highest it has seen and refuses older ones.
	Version uint64
	Issued  time.Time // UTC, whole seconds
	// ReplySalt is the deployment salt of DeriveReply. It never changes.
	ReplySalt []byte
	Bodies    []DirectoryBody // sorted by code
}

// DirectoryBody is one recipient body and its current key.
type DirectoryBody struct {
	qorgau.Body
	KeyVersion int
	Recipient  string // age X25519 or hybrid recipient
}

// Body returns the entry with the given code, or nil.
func (d *Directory) Body(code string) *DirectoryBody {
	for i := range d.Bodies {
		if d.Bodies[i].Code == code {
			return &d.Bodies[i]
		}
	}
	return nil
}

// Recipients returns the current keys of the bodies with the given codes,
// in that order, for Seal. A code the directory does not list is an
// ENOTFOUND error.
func (d *Directory) Recipients(codes ...string) ([]age.Recipient, error) {
	var rs []age.Recipient
	for _, c := range codes {
		b := d.Body(c)
		if b == nil {
			return nil, qorgau.Errorf(qorgau.ENOTFOUND, "body %q is not in the directory", c)
		}
		r, err := ParseRecipient(b.Recipient)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// Validate returns an EINVALID error naming the first thing that cannot be
// encoded: an entry that is not a valid body, a name with control
// characters or surrounding spaces, a bad recipient, codes out of order.
func (d *Directory) Validate() error {
	if d.Version == 0 {
		return qorgau.Errorf(qorgau.EINVALID, "directory version must be at least 1")
	}
	if y := d.Issued.UTC().Year(); y < 2000 || y > 9999 || !d.Issued.Equal(d.Issued.Truncate(time.Second)) {
		return qorgau.Errorf(qorgau.EINVALID, "directory issue time must be set in whole seconds")
	}
	if len(d.ReplySalt) < MinSaltSize || len(d.ReplySalt) > 64 {
		return qorgau.Errorf(qorgau.EINVALID, "reply salt must have %d to 64 bytes", MinSaltSize)
	}
	if len(d.Bodies) > maxBodies {
		return qorgau.Errorf(qorgau.EINVALID, "a directory lists at most %d bodies", maxBodies)
	}
	for i := range d.Bodies {
		b := &d.Bodies[i]
		if err := b.Body.Validate(); err != nil {
			return err
		}
		if i > 0 && d.Bodies[i-1].Code >= b.Code {
			return qorgau.Errorf(qorgau.EINVALID, "directory bodies must be sorted by code without repeats (%s)", b.Code)
		}
		for _, n := range []string{b.NameKK, b.NameRU, b.NameEN} {
			if !cleanLine(n) {
				return qorgau.Errorf(qorgau.EINVALID, "body %s: names must be one line without surrounding spaces", b.Code)
			}
		}
		if b.KeyVersion < 1 {
			return qorgau.Errorf(qorgau.EINVALID, "body %s: key version must be at least 1", b.Code)
		}
		if r, err := ParseRecipient(b.Recipient); err != nil || recipientString(r) != b.Recipient {
			return qorgau.Errorf(qorgau.EINVALID, "body %s: key is not an age recipient", b.Code)
		}
	}
	return nil
}

// cleanLine reports whether s is valid UTF-8 with no control characters and
// no spaces at either end, so that it fits one line of a note unchanged.
func cleanLine(s string) bool {
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// text returns the note text of the directory.
func (d *Directory) text() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\nversion %d\nissued %s\nreply-salt %s\n", directoryMagic, d.Version,
		d.Issued.UTC().Format(time.RFC3339), base64.RawStdEncoding.EncodeToString(d.ReplySalt))
	for _, b := range d.Bodies {
		region := b.Region
		if region == "" {
			region = "-"
		}
		fmt.Fprintf(&sb, "body %s %s %s %d %s\nkk %s\nru %s\nen %s\n",
			b.Code, b.Kind, region, b.KeyVersion, b.Recipient, b.NameKK, b.NameRU, b.NameEN)
	}
	return sb.String()
}

// directorySigner signs notes with an Ed25519 private key under
// DirectoryKeyName.
type directorySigner struct {
	priv ed25519.PrivateKey
	hash uint32
}

func (s directorySigner) Name() string                    { return DirectoryKeyName }
func (s directorySigner) KeyHash() uint32                 { return s.hash }
func (s directorySigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

// DirectoryVerifierKey returns the note verifier key of a directory public
// key ("qorgau-directory+<hash>+<key>"), the string terminals pin.
func DirectoryVerifierKey(pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(DirectoryKeyName, pub)
}

// SignDirectory validates d and returns it as a note signed by the
// directory key priv.
func SignDirectory(d *Directory, priv ed25519.PrivateKey) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, qorgau.Errorf(qorgau.EINVALID, "directory key is not an Ed25519 private key")
	}
	vkey, err := DirectoryVerifierKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: d.text()}, directorySigner{priv, v.KeyHash()})
}

// ErrDirectoryRollback means a directory verified but is older than the
// version the terminal already has: someone is replaying an old list,
// perhaps one with a body's revoked key. It has the code ECONFLICT.
var ErrDirectoryRollback = &qorgau.Error{Code: qorgau.ECONFLICT, Message: "the directory is older than the one already in use"}

// VerifyDirectory checks that b is a directory signed by the directory key
// pub and at least as new as have, the version the terminal already has (0
// if none), and returns it. A directory not signed by pub is an
// EUNAUTHORIZED error, an older one ErrDirectoryRollback, a malformed one
// an EINVALID error.
func VerifyDirectory(b []byte, pub ed25519.PublicKey, have uint64) (*Directory, error) {
	if len(b) > maxDirectory {
		return nil, qorgau.Errorf(qorgau.EINVALID, "directory is larger than %d bytes", maxDirectory)
	}
	vkey, err := DirectoryVerifierKey(pub)
	if err != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "directory key is not an Ed25519 public key")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	n, err := note.Open(b, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified), errors.As(err, &invalid):
		return nil, qorgau.Errorf(qorgau.EUNAUTHORIZED, "the directory is not signed by the pinned directory key")
	case err != nil:
		return nil, qorgau.Errorf(qorgau.EINVALID, "malformed directory: %v", err)
	}
	d, err := parseDirectory(n.Text)
	if err != nil {
		return nil, err
	}
	if d.Version < have {
		return nil, fmt.Errorf("directory version %d, have %d: %w", d.Version, have, ErrDirectoryRollback)
	}
	return d, nil
}

// parseDirectory parses the canonical note text and nothing else.
func parseDirectory(text string) (*Directory, error) {
	bad := func(format string, args ...any) error {
		return qorgau.Errorf(qorgau.EINVALID, "malformed directory: "+format, args...)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || lines[0] != directoryMagic {
		return nil, bad("not a %s directory", directoryMagic)
	}
	if (len(lines)-4)%4 != 0 {
		return nil, bad("incomplete body entry")
	}
	d := &Directory{}
	var err error
	v, ok := strings.CutPrefix(lines[1], "version ")
	if d.Version, err = strconv.ParseUint(v, 10, 64); !ok || err != nil {
		return nil, bad("bad version line")
	}
	t, ok := strings.CutPrefix(lines[2], "issued ")
	if d.Issued, err = time.Parse(time.RFC3339, t); !ok || err != nil {
		return nil, bad("bad issue time")
	}
	d.Issued = d.Issued.UTC()
	s, ok := strings.CutPrefix(lines[3], "reply-salt ")
	if d.ReplySalt, err = base64.RawStdEncoding.Strict().DecodeString(s); !ok || err != nil {
		return nil, bad("bad reply salt")
	}
	for i := 4; i < len(lines); i += 4 {
		f := strings.Split(lines[i], " ")
		if len(f) != 6 || f[0] != "body" {
			return nil, bad("bad body line %d", i+1)
		}
		var b DirectoryBody
		b.Code, b.Kind, b.Region, b.Recipient = f[1], qorgau.BodyKind(f[2]), f[3], f[5]
		if b.Region == "-" {
			b.Region = ""
		}
		if b.KeyVersion, err = strconv.Atoi(f[4]); err != nil {
			return nil, bad("bad key version of body %s", b.Code)
		}
		for j, n := range []*string{&b.NameKK, &b.NameRU, &b.NameEN} {
			lang := []string{"kk ", "ru ", "en "}[j]
			if *n, ok = strings.CutPrefix(lines[i+1+j], lang); !ok {
				return nil, bad("body %s lacks its %sname", b.Code, lang)
			}
		}
		d.Bodies = append(d.Bodies, b)
		if len(d.Bodies) > maxBodies {
			return nil, bad("too many bodies")
		}
	}
	if err := d.Validate(); err != nil {
		return nil, bad("%s", qorgau.ErrorMessage(err))
	}
	// Only the canonical text: this rejects leading zeros, other time
	// zones and every other spelling the parsers above let through.
	if d.text() != text {
		return nil, bad("not in canonical form")
	}
	return d, nil
}
