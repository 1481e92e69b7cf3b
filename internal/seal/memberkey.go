package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"

	"qorgau.kz/qorgau"
)

// MemberKeyParams are the Argon2id parameters of new member key wraps: RFC
// 9106's second recommended option, 64 MiB and 3 passes, as for login
// passwords. Each wrap records its own parameters, so raising them later
// only affects new wraps.
var MemberKeyParams = KDFParams{Memory: 64 * 1024, Time: 3, Threads: 2}

// Bounds on the parameters an unwrap accepts, so that a planted wrap cannot
// make the server spend minutes or gigabytes on one login.
const (
	maxKDFMemory  = 1 << 20 // KiB: 1 GiB
	maxKDFTime    = 16
	maxKDFThreads = 16
	minSalt       = 16
	maxSalt       = 64
)

const memberKeyMagic = "qorgau-member-key/v1"

// memberWrap is a parsed member key wrap.
type memberWrap struct {
	recipient string
	params    KDFParams
	salt      []byte
	box       []byte // XChaCha20-Poly1305 nonce and sealed identity
	aad       []byte // the first three lines
}

// NewMemberKey generates a member's age X25519 key and wraps it with the
// member's passphrase. It returns the public recipient, for wrapping body
// keys to the member, and the wrap, for the store. The identity itself is
// not returned: it exists only inside the wrap. An empty passphrase is an
// EINVALID error.
func NewMemberKey(passphrase string) (recipient string, wrapped []byte, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", nil, err
	}
	wrapped, err = wrapMemberKey(id, passphrase, MemberKeyParams)
	if err != nil {
		return "", nil, err
	}
	return id.Recipient().String(), wrapped, nil
}

func wrapMemberKey(id *age.X25519Identity, passphrase string, p KDFParams) ([]byte, error) {
	if passphrase == "" {
		return nil, qorgau.Errorf(qorgau.EINVALID, "the passphrase is empty")
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	b64 := base64.RawStdEncoding
	aad := fmt.Sprintf("%s\nrecipient %s\nargon2id m=%d,t=%d,p=%d %s\n",
		memberKeyMagic, id.Recipient(), p.Memory, p.Time, p.Threads, b64.EncodeToString(salt))
	aead, err := chacha20poly1305.NewX(p.key([]byte(passphrase), salt))
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(id.String())+chacha20poly1305.Overhead)
	rand.Read(nonce)
	box := aead.Seal(nonce, nonce, []byte(id.String()), []byte(aad))
	return []byte(aad + b64.EncodeToString(box) + "\n"), nil
}

// UnwrapMemberKey opens a member key wrap with the member's passphrase and
// returns the identity, to be kept in memory only. A wrong passphrase is an
// EUNAUTHORIZED error; a malformed wrap an EINVALID error.
func UnwrapMemberKey(wrapped []byte, passphrase string) (*age.X25519Identity, error) {
	w, err := parseMemberWrap(wrapped)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(w.params.key([]byte(passphrase), w.salt))
	if err != nil {
		return nil, err
	}
	nonce, sealed := w.box[:chacha20poly1305.NonceSizeX], w.box[chacha20poly1305.NonceSizeX:]
	secret, err := aead.Open(nil, nonce, sealed, w.aad)
	if err != nil {
		return nil, qorgau.Errorf(qorgau.EUNAUTHORIZED, "the passphrase does not unlock this member key")
	}
	id, err := age.ParseX25519Identity(string(secret))
	if err != nil || id.Recipient().String() != w.recipient {
		return nil, qorgau.Errorf(qorgau.EINVALID, "member key wrap holds a key other than its recipient's")
	}
	return id, nil
}

// RewrapMemberKey re-encrypts a member key under a new passphrase, with a
// new salt and the current MemberKeyParams, for a password change. The key,
// and so every body key wrapped to it, stays the same. Errors are those of
// UnwrapMemberKey and NewMemberKey.
func RewrapMemberKey(wrapped []byte, oldPassphrase, newPassphrase string) ([]byte, error) {
	id, err := UnwrapMemberKey(wrapped, oldPassphrase)
	if err != nil {
		return nil, err
	}
	return wrapMemberKey(id, newPassphrase, MemberKeyParams)
}

// MemberKeyRecipient returns the public recipient recorded in a member key
// wrap, without the passphrase. A malformed wrap is an EINVALID error.
func MemberKeyRecipient(wrapped []byte) (string, error) {
	w, err := parseMemberWrap(wrapped)
	if err != nil {
		return "", err
	}
	return w.recipient, nil
}

// parseMemberWrap parses the canonical encoding wrapMemberKey writes, and
// nothing else.
func parseMemberWrap(b []byte) (*memberWrap, error) {
	bad := qorgau.Errorf(qorgau.EINVALID, "malformed member key wrap")
	if len(b) > 4096 || !bytes.HasSuffix(b, []byte("\n")) {
		return nil, bad
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	if len(lines) != 4 || lines[0] != memberKeyMagic {
		return nil, bad
	}
	w := &memberWrap{aad: b[:len(lines[0])+len(lines[1])+len(lines[2])+3]}
	var ok bool
	if w.recipient, ok = strings.CutPrefix(lines[1], "recipient "); !ok {
		return nil, bad
	}
	if r, err := age.ParseX25519Recipient(w.recipient); err != nil || r.String() != w.recipient {
		return nil, bad
	}
	var saltB64 string
	var m, t, p uint64
	if n, err := fmt.Sscanf(lines[2], "argon2id m=%d,t=%d,p=%d %s", &m, &t, &p, &saltB64); err != nil || n != 4 {
		return nil, bad
	}
	if m < 8*p || m > maxKDFMemory || t < 1 || t > maxKDFTime || p < 1 || p > maxKDFThreads {
		return nil, bad
	}
	w.params = KDFParams{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
	b64 := base64.RawStdEncoding.Strict()
	var err error
	if w.salt, err = b64.DecodeString(saltB64); err != nil || len(w.salt) < minSalt || len(w.salt) > maxSalt {
		return nil, bad
	}
	if w.box, err = b64.DecodeString(lines[3]); err != nil || len(w.box) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, bad
	}
	// Only the canonical form: no leading zeros, no stray characters the
	// decoders skip.
	canon := fmt.Sprintf("%s\nrecipient %s\nargon2id m=%d,t=%d,p=%d %s\n%s\n", memberKeyMagic, w.recipient,
		m, t, p, base64.RawStdEncoding.EncodeToString(w.salt), base64.RawStdEncoding.EncodeToString(w.box))
	if canon != string(b) {
		return nil, bad
	}
	return w, nil
}
