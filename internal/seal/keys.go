package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"

	"qorgau.kz/qorgau"
)

// KeyID returns the short public name of a body key: the first 16 bytes of
// the SHA-256 of its recipient string, as 32 lowercase hex digits.
// Envelopes list the key ids of their body recipients, and the server finds
// the body and key version by it.
func KeyID(recipient string) string {
	h := sha256.Sum256([]byte("qorgau-key-id/v1\n" + recipient))
	return hex.EncodeToString(h[:16])
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ParseRecipient parses a body or reply recipient: an age X25519 recipient
// ("age1…") or an age hybrid post-quantum recipient ("age1pq1…"). Anything
// else is an EINVALID error.
func ParseRecipient(s string) (age.Recipient, error) {
	var r age.Recipient
	var err error
	if strings.HasPrefix(s, "age1pq1") {
		r, err = age.ParseHybridRecipient(s)
	} else {
		r, err = age.ParseX25519Recipient(s)
	}
	if err != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "not an age X25519 or hybrid recipient")
	}
	return r, nil
}

// ParseIdentity parses an age X25519 ("AGE-SECRET-KEY-1…") or hybrid
// ("AGE-SECRET-KEY-PQ-1…") identity. The error never contains s.
func ParseIdentity(s string) (age.Identity, error) {
	var id age.Identity
	var err error
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1") {
		id, err = age.ParseHybridIdentity(s)
	} else {
		id, err = age.ParseX25519Identity(s)
	}
	if err != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "not an age X25519 or hybrid identity")
	}
	return id, nil
}

// RecipientOf returns the recipient string of an age X25519 or hybrid
// identity, and "" for any other identity.
func RecipientOf(id age.Identity) string {
	switch id := id.(type) {
	case *age.X25519Identity:
		return id.Recipient().String()
	case *age.HybridIdentity:
		return id.Recipient().String()
	}
	return ""
}

// secretOf returns the encoding of an age X25519 or hybrid identity.
func secretOf(id age.Identity) (string, error) {
	switch id := id.(type) {
	case *age.X25519Identity:
		return id.String(), nil
	case *age.HybridIdentity:
		return id.String(), nil
	}
	return "", fmt.Errorf("seal: identity %T is neither X25519 nor hybrid", id)
}

// recipientString returns the encoding of an age X25519 or hybrid
// recipient, and "" for any other.
func recipientString(r age.Recipient) string {
	switch r := r.(type) {
	case *age.X25519Recipient:
		return r.String()
	case *age.HybridRecipient:
		return r.String()
	}
	return ""
}

// IsPostQuantum reports whether recipient is an age hybrid recipient.
func IsPostQuantum(recipient string) bool { return strings.HasPrefix(recipient, "age1pq1") }

// NewBodyKey generates a new body key: an age hybrid ML-KEM-768+X25519
// identity if pq, an X25519 identity otherwise. The caller wraps it to the
// body's members with WrapBodyKey and then drops it.
func NewBodyKey(pq bool) (age.Identity, error) {
	if pq {
		return age.GenerateHybridIdentity()
	}
	return age.GenerateX25519Identity()
}

// maxWrappedKey bounds a wrapped body key: a hybrid identity is about 90
// characters, its age file a few hundred bytes.
const maxWrappedKey = 16 << 10

// WrapBodyKey encrypts the body key id to one member's recipient with age.
func WrapBodyKey(id age.Identity, to age.Recipient) ([]byte, error) {
	secret, err := secretOf(id)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to)
	if err != nil {
		return nil, fmt.Errorf("wrap body key: %w", err)
	}
	if _, err := io.WriteString(w, secret); err != nil {
		return nil, fmt.Errorf("wrap body key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("wrap body key: %w", err)
	}
	return buf.Bytes(), nil
}

// UnwrapBodyKey decrypts a body key wrapped by WrapBodyKey with a member's
// identity, and checks that it is the private half of recipient, so that a
// wrap filed under the wrong key version is caught. It returns ErrNoIdentity
// if member cannot open the wrap, and an EINVALID error if the wrap is
// damaged or holds another key.
func UnwrapBodyKey(wrapped []byte, recipient string, member age.Identity) (age.Identity, error) {
	if len(wrapped) > maxWrappedKey {
		return nil, qorgau.Errorf(qorgau.EINVALID, "wrapped body key is larger than %d bytes", maxWrappedKey)
	}
	r, err := age.Decrypt(bytes.NewReader(wrapped), member)
	if err != nil {
		return nil, ageError("wrapped body key", err)
	}
	secret, err := io.ReadAll(io.LimitReader(r, maxWrappedKey))
	if err != nil {
		return nil, ageError("wrapped body key", err)
	}
	id, err := ParseIdentity(string(secret))
	if err != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "wrapped body key does not hold an age identity")
	}
	if RecipientOf(id) != recipient {
		return nil, qorgau.Errorf(qorgau.EINVALID, "wrapped body key is not the key %s", KeyID(recipient))
	}
	return id, nil
}

// WrappedBodyKey is one version of a body key wrapped to one member, as the
// store keeps it.
type WrappedBodyKey struct {
	Body      string
	Version   int
	Recipient string // the body key version's public recipient
	Wrapped   []byte
}

// UnwrapBodyKeys unwraps every body key wrapped to a member, given the
// member's unwrapped identity, and returns them by body code, newest
// version first, the order in which age should try them. A wrap that does
// not open is left out and named in the returned error; the identities that
// did open are returned with it, so one damaged wrap does not lock a member
// out of everything else.
func UnwrapBodyKeys(member age.Identity, wraps []WrappedBodyKey) (map[string][]age.Identity, error) {
	sorted := slices.Clone(wraps)
	slices.SortStableFunc(sorted, func(a, b WrappedBodyKey) int {
		if c := strings.Compare(a.Body, b.Body); c != 0 {
			return c
		}
		return b.Version - a.Version
	})
	ids := make(map[string][]age.Identity)
	var errs []error
	for _, w := range sorted {
		id, err := UnwrapBodyKey(w.Wrapped, w.Recipient, member)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d of body %s: %w", w.Version, w.Body, err))
			continue
		}
		ids[w.Body] = append(ids[w.Body], id)
	}
	return ids, errors.Join(errs...)
}

// ErrNoIdentity means that none of the given identities can open an age
// file: the reader does not hold the key it was encrypted to. It has the
// code EFORBIDDEN; test for it with errors.Is.
var ErrNoIdentity = &qorgau.Error{Code: qorgau.EFORBIDDEN, Message: "none of the keys given opens it"}

// ageError turns an error of age.Decrypt into ErrNoIdentity or an EINVALID
// error about what.
func ageError(what string, err error) error {
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return ErrNoIdentity
	}
	return qorgau.Errorf(qorgau.EINVALID, "%s is damaged or was changed: %v", what, err)
}

// classicOnly hides a hybrid recipient's "postquantum" label from age, so
// that it can share a file with classic recipients. age documents this as
// the way to bypass its mixing rule on purpose; see the package comment.
type classicOnly struct{ r age.Recipient }

func (c classicOnly) Wrap(fileKey []byte) ([]*age.Stanza, error) { return c.r.Wrap(fileKey) }

// recipientsFor applies the post-quantum rule to body recipients and picks
// the kind of reply recipient that may join them: hybrid if every body
// recipient is hybrid, classic otherwise.
func recipientsFor(bodies []age.Recipient) (out []age.Recipient, pq bool) {
	pq = len(bodies) > 0
	for _, r := range bodies {
		if _, ok := r.(*age.HybridRecipient); !ok {
			pq = false
		}
	}
	out = make([]age.Recipient, len(bodies))
	for i, r := range bodies {
		if _, ok := r.(*age.HybridRecipient); ok && !pq {
			r = classicOnly{r}
		}
		out[i] = r
	}
	return out, pq
}
