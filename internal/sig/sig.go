// Package sig checks the Ed25519 signatures of terminals on the server's hot
// path: the signature of every terminal request and of every envelope.
//
// It exists for speed alone. curve25519-voi verifies in about 30% less time
// than crypto/ed25519 (BenchmarkVerify), and the two verifications of each
// complaint are a large part of the server's CPU for it. Which signatures
// are valid must not change with it: Verify accepts exactly the signatures
// crypto/ed25519.Verify accepts, and sig_test.go checks that against
// crypto/ed25519 on valid, altered, non-canonical and small-order inputs.
package sig

import (
	"crypto/ed25519"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// stdlib selects crypto/ed25519's acceptance rules. The library documents
// VerifyOptionsStdLib as "verification behavior that is compatible with
// that provided by the Go crypto/ed25519 package": small-order A and R
// allowed, a non-canonical encoding of A allowed and of R refused, S must
// be below the group order, and the cofactorless equation [S]B = R + [k]A
// compared as encodings of R. The cofactored equation of batch verification
// accepts signatures that crypto/ed25519 refuses, so there is none here.
var stdlib = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// Verify reports whether sig is a valid Ed25519 signature of msg by pub,
// under the rules of crypto/ed25519.Verify. Unlike crypto/ed25519.Verify,
// it returns false for a public key of the wrong length instead of
// panicking.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, stdlib)
}
