package seal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode"

	"filippo.io/age"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/hkdf"

	"qorgau.kz/qorgau"
)

// CodeDigits is the length of a receipt code. 10^16 codes, about 2^53,
// each costing an Argon2id derivation, are out of reach of a search.
const CodeDigits = 16

// NewReceiptCode returns a new receipt code: 16 decimal digits, uniformly
// distributed, from crypto/rand.
func NewReceiptCode() string {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(CodeDigits), nil)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%0*d", CodeDigits, n)
}

// FormatCode returns a receipt code in four groups of four digits, as the
// kiosk shows and prints it: "1234 5678 9012 3456". A string that is not a
// code (see ParseCode) is returned unchanged.
func FormatCode(code string) string {
	c, err := ParseCode(code)
	if err != nil {
		return code
	}
	return c[0:4] + " " + c[4:8] + " " + c[8:12] + " " + c[12:16]
}

// ParseCode returns the 16 digits of a receipt code as typed, ignoring
// spaces and dashes between them. Anything else, or a wrong number of
// digits, is an EINVALID error.
func ParseCode(s string) (string, error) {
	if len(s) > 64 {
		return "", qorgau.Errorf(qorgau.EINVALID, "a receipt code has %d digits", CodeDigits)
	}
	var digits []byte
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == '-' || unicode.IsSpace(r):
		default:
			return "", qorgau.Errorf(qorgau.EINVALID, "a receipt code has only digits")
		}
	}
	if len(digits) != CodeDigits {
		return "", qorgau.Errorf(qorgau.EINVALID, "a receipt code has %d digits, not %d", CodeDigits, len(digits))
	}
	return string(digits), nil
}

// KDFParams are Argon2id cost parameters.
type KDFParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

func (p KDFParams) key(secret, salt []byte) []byte {
	return argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, 32)
}

// ReplyParams are the Argon2id parameters of DeriveReply: 64 MiB, 2
// passes, 2 lanes, about 0.1 s on a two-core kiosk PC. They are part of the
// format: changing them changes every reply key and lookup id, so every
// receipt already handed out would stop working.
var ReplyParams = KDFParams{Memory: 64 * 1024, Time: 2, Threads: 2}

// MinSaltSize is the shortest deployment salt DeriveReply accepts.
const MinSaltSize = 16

// NewDeploymentSalt returns a new random deployment salt for DeriveReply.
// A deployment makes one once and never changes it.
func NewDeploymentSalt() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// ReplyKey is what a receipt code unlocks: the complainant's reply
// identities and the id under which the server keeps replies for them. It
// exists only in the kiosk's memory while the person is at it.
type ReplyKey struct {
	// X25519 and Hybrid are the classic and post-quantum reply identities.
	// Seal encrypts to the one matching the bodies' keys (see the package
	// comment); Identities returns both for opening.
	X25519 *age.X25519Identity
	Hybrid *age.HybridIdentity
	// LookupID names the complainant's replies on the server: 32 lowercase
	// hex digits. It travels in the clear only when the kiosk asks for
	// replies, never alongside the envelope.
	LookupID string
}

// Identities returns both reply identities, for Envelope.Open and
// OpenReply.
func (k *ReplyKey) Identities() []age.Identity { return []age.Identity{k.X25519, k.Hybrid} }

// Recipient returns the hybrid reply recipient if pq, the X25519 one
// otherwise.
func (k *ReplyKey) Recipient(pq bool) age.Recipient {
	if pq {
		return k.Hybrid.Recipient()
	}
	return k.X25519.Recipient()
}

// DeriveReply derives the reply key and lookup id of a receipt code with
// Argon2id (ReplyParams) and the deployment's salt, then HKDF-SHA256. The
// same code and salt always give the same result, another salt a different
// one. The code may be formatted (see ParseCode). An invalid code or a salt
// shorter than MinSaltSize is an EINVALID error.
func DeriveReply(code string, deploymentSalt []byte) (*ReplyKey, error) {
	c, err := ParseCode(code)
	if err != nil {
		return nil, err
	}
	if len(deploymentSalt) < MinSaltSize {
		return nil, qorgau.Errorf(qorgau.EINVALID, "the deployment salt must have at least %d bytes", MinSaltSize)
	}
	salt := append([]byte("qorgau-reply/v1\n"), deploymentSalt...)
	seed := ReplyParams.key([]byte(c), salt)

	expand := func(info string, n int) []byte {
		out := make([]byte, n)
		if _, err := io.ReadFull(hkdf.Expand(sha256.New, seed, []byte("qorgau-reply/v1 "+info)), out); err != nil {
			panic(err) // n is far below HKDF-SHA256's limit
		}
		return out
	}
	k := &ReplyKey{LookupID: hex.EncodeToString(expand("lookup", 16))}
	if k.X25519, err = x25519FromScalar(expand("x25519", 32)); err != nil {
		return nil, err
	}
	if k.Hybrid, err = hybridFromSeed(expand("mlkem768x25519", 32)); err != nil {
		return nil, err
	}
	return k, nil
}

// x25519FromScalar builds an age X25519 identity from 32 secret bytes,
// through the identity's Bech32 encoding, the only constructor age exports.
func x25519FromScalar(scalar []byte) (*age.X25519Identity, error) {
	id, err := age.ParseX25519Identity(strings.ToUpper(bech32Encode("AGE-SECRET-KEY-", scalar)))
	if err != nil {
		return nil, fmt.Errorf("seal: derive X25519 identity: %v", err)
	}
	return id, nil
}

// hybridFromSeed builds an age hybrid identity from its 32-byte seed.
func hybridFromSeed(seed []byte) (*age.HybridIdentity, error) {
	id, err := age.ParseHybridIdentity(strings.ToUpper(bech32Encode("AGE-SECRET-KEY-PQ-", seed)))
	if err != nil {
		return nil, fmt.Errorf("seal: derive hybrid identity: %v", err)
	}
	return id, nil
}
