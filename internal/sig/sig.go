// Package sig checks the Ed25519 signatures of terminals on the server's hot
// path: the signature of every terminal request and of every envelope.
//
// It exists for speed alone. curve25519-voi, with each key's expanded form
// cached, verifies in about 40% less time than crypto/ed25519
// (BenchmarkVerify), and the two verifications of each complaint are a
// large part of the server's CPU for it. Which signatures
// are valid must not change with it: Verify accepts exactly the signatures
// crypto/ed25519.Verify accepts, and sig_test.go checks that against
// crypto/ed25519 on valid, altered, non-canonical and small-order inputs.
package sig

import (
	"crypto/ed25519"
	"sync"

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
//
// It keeps the expanded form of the public keys it has seen (see
// expanded): a terminal's key verifies many requests and envelopes.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	if k := expanded(pub); k != nil {
		return voi.VerifyExpandedWithOptions(k, msg, sig, stdlib)
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, stdlib)
}

// maxExpanded bounds the cache of expanded keys (about 1.5 KiB each); a
// full cache is emptied and fills again. Kazakhstan's terminals are about
// 600.
const maxExpanded = 4096

var cache = struct {
	sync.RWMutex
	m map[string]*voi.ExpandedPublicKey
}{m: make(map[string]*voi.ExpandedPublicKey)}

// expanded returns pub decompressed, with its lookup table for the
// variable-base multiplication precomputed: a verification by a cached key
// skips both, about a tenth of its time (BenchmarkVerify). It returns nil
// for a key that does not decompress; Verify then takes the plain path,
// which refuses it as crypto/ed25519 does.
func expanded(pub []byte) *voi.ExpandedPublicKey {
	cache.RLock()
	k, ok := cache.m[string(pub)]
	cache.RUnlock()
	if ok {
		return k
	}
	k, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil
	}
	cache.Lock()
	if len(cache.m) >= maxExpanded {
		clear(cache.m)
	}
	cache.m[string(pub)] = k
	cache.Unlock()
	return k
}
