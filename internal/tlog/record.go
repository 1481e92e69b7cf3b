package tlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// A Record is what one leaf of the log says: the kind of thing logged, a
// commitment to it, and the coarse metadata that policy makes public. The
// thing itself (an encrypted complaint envelope, a status event, an evidence
// manifest) is not in the log; the commitment binds the leaf to it without
// revealing it.
//
// A record is encoded as UTF-8 text, one field per line, each line ending
// in a newline (U+000A):
//
//	qorgau-log-record v1
//	kind complaint
//	commitment 3f0a…(64 lowercase hex digits)
//	meta facility-type colony-medium
//	meta region KZ-35
//
// The first line is fixed. The kind is 1 to 32 characters of a-z, 0-9 and
// "-", starting with a letter. The commitment is SHA-256(salt || object)
// with a 32-byte random salt (see Commit). Then come zero to 16 meta lines,
// "meta", a space, the key, a space and the value, in strictly increasing
// byte order of key. A key is 1 to 32 characters of a-z, 0-9, "-", "_" and
// ".", starting with a letter; a value is 0 to 256 bytes of UTF-8 text with
// no control characters. There is exactly one encoding of each record:
// ParseRecord rejects every other.
//
// The leaf's hash in the Merkle tree is the RFC 6962 record hash of the
// encoding, tlog.RecordHash(data).
type Record struct {
	Kind       string
	Commitment [32]byte
	Meta       map[string]string
}

const (
	recordHeader  = "qorgau-log-record v1\n"
	maxKindLen    = 32
	maxMetaKeys   = 16
	maxMetaKeyLen = 32
	maxMetaValLen = 256
	// SaltSize is the size of the random salt of a commitment.
	SaltSize = 32
)

// Commit returns the commitment to object under salt: SHA-256(salt || object).
func Commit(salt, object []byte) [32]byte {
	h := sha256.New()
	h.Write(salt)
	h.Write(object)
	return [32]byte(h.Sum(nil))
}

// Marshal returns the encoding of r, or an error if r breaks the rules above.
func (r *Record) Marshal() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r.appendText(nil), nil
}

func (r *Record) appendText(b []byte) []byte {
	b = append(b, recordHeader...)
	b = append(b, "kind "...)
	b = append(b, r.Kind...)
	b = append(b, "\ncommitment "...)
	b = hex.AppendEncode(b, r.Commitment[:])
	b = append(b, '\n')
	for _, k := range sortedKeys(r.Meta) {
		b = append(b, "meta "...)
		b = append(b, k...)
		b = append(b, ' ')
		b = append(b, r.Meta[k]...)
		b = append(b, '\n')
	}
	return b
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validate checks r against the rules in the Record documentation.
func (r *Record) validate() error {
	if !validName(r.Kind, maxKindLen, false) {
		return fmt.Errorf("record kind %q: want 1 to %d characters of a-z, 0-9 and -, starting with a letter", r.Kind, maxKindLen)
	}
	if len(r.Meta) > maxMetaKeys {
		return fmt.Errorf("record has %d meta keys, at most %d allowed", len(r.Meta), maxMetaKeys)
	}
	for k, v := range r.Meta {
		if !validName(k, maxMetaKeyLen, true) {
			return fmt.Errorf("record meta key %q: want 1 to %d characters of a-z, 0-9, -, _ and ., starting with a letter", k, maxMetaKeyLen)
		}
		if !validValue(v) {
			return fmt.Errorf("record meta %s: value must be at most %d bytes of UTF-8 text without control characters", k, maxMetaValLen)
		}
	}
	return nil
}

func validName(s string, maxLen int, meta bool) bool {
	if len(s) == 0 || len(s) > maxLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case meta && (c == '_' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	if len(s) > maxMetaValLen || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (0x80 <= c && c < 0xa0) || c == '\u2028' || c == '\u2029' {
			return false
		}
	}
	return true
}

var errRecord = errors.New("malformed log record")

// ParseRecord decodes a record from its encoding. It accepts only the one
// encoding that Marshal produces.
func ParseRecord(data []byte) (*Record, error) {
	text := string(data)
	rest, ok := strings.CutPrefix(text, recordHeader)
	if !ok {
		return nil, fmt.Errorf("%w: no %q header", errRecord, strings.TrimSpace(recordHeader))
	}
	var r Record
	line, rest, ok := strings.Cut(rest, "\n")
	if r.Kind, ok = cutField(line, "kind ", ok); !ok {
		return nil, fmt.Errorf("%w: no kind line", errRecord)
	}
	line, rest, ok = strings.Cut(rest, "\n")
	c, ok := cutField(line, "commitment ", ok)
	if !ok || len(c) != 64 || strings.ToLower(c) != c {
		return nil, fmt.Errorf("%w: no commitment line", errRecord)
	}
	if _, err := hex.Decode(r.Commitment[:], []byte(c)); err != nil {
		return nil, fmt.Errorf("%w: commitment is not hex", errRecord)
	}
	prev := ""
	for rest != "" {
		line, rest, ok = strings.Cut(rest, "\n")
		kv, ok := cutField(line, "meta ", ok)
		if !ok {
			return nil, fmt.Errorf("%w: want a meta line, got %.40q", errRecord, line)
		}
		k, v, ok := strings.Cut(kv, " ")
		if !ok {
			return nil, fmt.Errorf("%w: meta line without a value", errRecord)
		}
		if r.Meta == nil {
			r.Meta = make(map[string]string)
		}
		if len(r.Meta) > 0 && k <= prev {
			return nil, fmt.Errorf("%w: meta keys out of order or repeated at %q", errRecord, k)
		}
		r.Meta[k], prev = v, k
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errRecord, err)
	}
	if !bytes.Equal(r.appendText(nil), data) {
		// Unreachable if the rules above are complete; a second guard.
		return nil, fmt.Errorf("%w: not in canonical form", errRecord)
	}
	return &r, nil
}

// cutField returns line without prefix if the line was complete (ended in a
// newline) and starts with prefix.
func cutField(line, prefix string, complete bool) (string, bool) {
	if !complete {
		return "", false
	}
	return strings.CutPrefix(line, prefix)
}
