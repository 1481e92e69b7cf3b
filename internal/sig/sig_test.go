package sig

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// stdVerify is the reference: crypto/ed25519.Verify, with a public key of
// the wrong length refused rather than a panic.
func stdVerify(pub ed25519.PublicKey, msg, sig []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return ed25519.Verify(pub, msg, sig)
}

// check fails t when Verify and crypto/ed25519 disagree on (pub, msg, sig)
// and returns their common answer. Verify is asked twice, so that a key
// met for the first time and a cached one are both tried, and the path
// without an expanded key is tried too.
func check(t *testing.T, name string, pub ed25519.PublicKey, msg, sig []byte) bool {
	t.Helper()
	want := stdVerify(pub, msg, sig)
	for _, try := range []string{"Verify", "Verify again"} {
		if got := Verify(pub, msg, sig); got != want {
			t.Errorf("%s: %s(%x, %q, %x) = %v, want %v as crypto/ed25519", name, try, []byte(pub), msg, sig, got, want)
		}
	}
	if len(pub) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize {
		if got := voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, stdlib); got != want {
			t.Errorf("%s: the unexpanded path(%x, %q, %x) = %v, want %v as crypto/ed25519", name, []byte(pub), msg, sig, got, want)
		}
	}
	return want
}

// TestExpandedBound fills the cache of expanded keys past its bound: it
// stays bounded, and keys verify before and after it is emptied.
func TestExpandedBound(t *testing.T) {
	r := testRand()
	privs, msgs := keys(r, maxExpanded+10)
	for i, k := range privs {
		sig := ed25519.Sign(k, msgs[i])
		if !Verify(pubOf(k), msgs[i], sig) || !Verify(pubOf(k), msgs[i], sig) {
			t.Fatalf("key %d: a valid signature refused", i)
		}
		sig[0] ^= 1
		if Verify(pubOf(k), msgs[i], sig) {
			t.Fatalf("key %d: an altered signature accepted", i)
		}
	}
	cache.RLock()
	n := len(cache.m)
	cache.RUnlock()
	if n > maxExpanded || n == 0 {
		t.Errorf("%d expanded keys cached, want 1 to %d", n, maxExpanded)
	}
	if sig := ed25519.Sign(privs[0], msgs[0]); !Verify(pubOf(privs[0]), msgs[0], sig) {
		t.Errorf("the first key, emptied from the cache: a valid signature refused")
	}
}

// testRand is reproducible, so that a failure can be run again.
func testRand() *rand.ChaCha8 {
	return rand.NewChaCha8([32]byte([]byte("qorgau internal/sig differential")))
}

// keys returns n key pairs and messages of various lengths.
func keys(r *rand.ChaCha8, n int) (privs []ed25519.PrivateKey, msgs [][]byte) {
	for i := range n {
		var seed [ed25519.SeedSize]byte
		r.Read(seed[:])
		privs = append(privs, ed25519.NewKeyFromSeed(seed[:]))
		msg := make([]byte, i%200)
		r.Read(msg)
		msgs = append(msgs, msg)
	}
	return privs, msgs
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func TestVerifyValid(t *testing.T) {
	privs, msgs := keys(testRand(), 500)
	for i, k := range privs {
		if !check(t, fmt.Sprintf("signature %d", i), pubOf(k), msgs[i], ed25519.Sign(k, msgs[i])) {
			t.Fatalf("crypto/ed25519 refuses its own signature %d", i)
		}
	}
}

// TestVerifyBitFlips flips every bit of the signature, the key and the
// message of a few valid signatures, one at a time.
func TestVerifyBitFlips(t *testing.T) {
	privs, msgs := keys(testRand(), 4)
	msgs[0] = []byte("qorgau-terminal-request/v1\nPOST\n/api/terminal/v1/complaints\n")
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i/8] ^= 1 << (i % 8)
		return c
	}
	for n, k := range privs {
		pub, msg := pubOf(k), msgs[n]
		sig := ed25519.Sign(k, msg)
		for i := range 8 * len(sig) {
			check(t, fmt.Sprintf("key %d, signature bit %d", n, i), pub, msg, flip(sig, i))
		}
		for i := range 8 * len(pub) {
			check(t, fmt.Sprintf("key %d, key bit %d", n, i), flip(pub, i), msg, sig)
		}
		for i := range 8 * len(msg) {
			check(t, fmt.Sprintf("key %d, message bit %d", n, i), pub, flip(msg, i), sig)
		}
	}
}

// order is ℓ, the order of the prime-order subgroup, little-endian in
// 64-bit words.
var order = [4]uint64{0x5812631a5cf5d3ed, 0x14def9dea2f79cd6, 0, 0x1000000000000000}

// addOrder returns s + ℓ for a 32-byte little-endian s < ℓ: the same
// scalar modulo ℓ, encoded non-canonically (s + ℓ < 2^254 fits).
func addOrder(s []byte) []byte {
	out := make([]byte, 32)
	var carry uint64
	for i, w := range order {
		var sum uint64
		sum, carry = bits.Add64(binary.LittleEndian.Uint64(s[8*i:]), w, carry)
		binary.LittleEndian.PutUint64(out[8*i:], sum)
	}
	return out
}

// TestVerifyNonCanonicalS replaces S by S+ℓ, which a verifier that reduces S
// modulo ℓ would accept, and sets the high bits of S. Both must refuse.
func TestVerifyNonCanonicalS(t *testing.T) {
	privs, msgs := keys(testRand(), 50)
	for i, k := range privs {
		pub, msg := pubOf(k), msgs[i]
		sig := ed25519.Sign(k, msg)
		bad := append(sig[:32:32], addOrder(sig[32:])...)
		if check(t, fmt.Sprintf("signature %d with S+ℓ", i), pub, msg, bad) {
			t.Errorf("signature %d with S+ℓ: crypto/ed25519 accepts it, want refused by both", i)
		}
		for _, bit := range []byte{0x20, 0x40, 0x80} {
			bad := append([]byte(nil), sig...)
			bad[63] |= bit
			if check(t, fmt.Sprintf("signature %d with S|%#x<<248", i, bit), pub, msg, bad) {
				t.Errorf("signature %d with top bit %#x of S set: crypto/ed25519 accepts it", i, bit)
			}
		}
	}

	// With A = R = identity, S = 0 verifies and S = ℓ is the same scalar.
	id, _ := hex.DecodeString(smallOrder[0])
	zero := make([]byte, 32)
	if !check(t, "A = R = identity, S = 0", id, nil, append(id[:32:32], zero...)) {
		t.Error("crypto/ed25519 refuses A = R = identity, S = 0, want accepted")
	}
	if check(t, "A = R = identity, S = ℓ", id, nil, append(id[:32:32], addOrder(zero)...)) {
		t.Error("A = R = identity, S = ℓ: accepted, want refused by both")
	}
}

// smallOrder are the encodings of the eight points of order dividing 8.
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
}

// nonCanonical returns the encodings that are not the canonical one of
// their point, or of no point: y = p+i for i < 19 (so y ≥ p), with either
// sign bit, and the two of x = 0 with the sign bit set.
func nonCanonical() [][]byte {
	var out [][]byte
	for i := range 19 {
		for _, sign := range []byte{0, 0x80} {
			b := make([]byte, 32)
			for j := range b {
				b[j] = 0xff
			}
			b[0] = 0xed + byte(i) // p = 2^255 - 19 = ed ff … ff 7f
			b[31] = 0x7f | sign
			out = append(out, b)
		}
	}
	for _, s := range []string{
		"0100000000000000000000000000000000000000000000000000000000000080", // y = 1, x = -0
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = -1, x = -0
	} {
		b, _ := hex.DecodeString(s)
		out = append(out, b)
	}
	return out
}

// TestVerifySmallOrder tries every small-order and non-canonical encoding
// as the public key A and as R, with S = 0 and other S: the inputs on which
// Ed25519 implementations differ. Some of them verify under the
// cofactorless equation, and crypto/ed25519 accepts those.
func TestVerifySmallOrder(t *testing.T) {
	var points [][]byte
	for _, s := range smallOrder {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			t.Fatalf("bad test point %s", s)
		}
		points = append(points, b)
	}
	points = append(points, nonCanonical()...)
	r := testRand()
	privs, _ := keys(r, 2)
	points = append(points, pubOf(privs[0]), pubOf(privs[1])) // ordinary points too

	one := make([]byte, 32)
	one[0] = 1
	random := make([]byte, 32)
	r.Read(random)
	random[31] &= 0x0f // below ℓ
	scalars := [][]byte{make([]byte, 32), one, random}
	msgs := [][]byte{nil, []byte("qorgau")}

	accepted := 0
	for ai, a := range points {
		for ri, rr := range points {
			for si, s := range scalars {
				for mi, m := range msgs {
					sig := append(append([]byte(nil), rr...), s...)
					if check(t, fmt.Sprintf("A %d, R %d, S %d, message %d", ai, ri, si, mi), a, m, sig) {
						accepted++
					}
				}
			}
		}
	}
	t.Logf("%d of %d small-order and non-canonical signatures accepted by both", accepted, len(points)*len(points)*len(scalars)*len(msgs))
}

func TestVerifyLengths(t *testing.T) {
	k := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub, msg := pubOf(k), []byte("qorgau")
	sig := ed25519.Sign(k, msg)
	long := func(b []byte, n int) []byte { return append(append([]byte(nil), b...), make([]byte, n)...) }
	tests := []struct {
		name     string
		pub, sig []byte
	}{
		{"empty signature", pub, nil},
		{"signature 63 bytes", pub, sig[:63]},
		{"signature 65 bytes", pub, long(sig, 1)},
		{"signature 128 bytes", pub, long(sig, 64)},
		{"empty key", nil, sig},
		{"key 31 bytes", pub[:31], sig},
		{"key 33 bytes", long(pub, 1), sig},
		{"private key as key", []byte(k), sig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if check(t, tt.name, tt.pub, msg, tt.sig) {
				t.Errorf("Verify(%d-byte key, %d-byte signature) = true, want false", len(tt.pub), len(tt.sig))
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	k := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub, msg := pubOf(k), make([]byte, 32) // an envelope digest's length
	sig := ed25519.Sign(k, msg)
	b.Run("curve25519-voi", func(b *testing.B) {
		for range b.N {
			if !Verify(pub, msg, sig) {
				b.Fatal("Verify = false")
			}
		}
	})
	b.Run("curve25519-voi-unexpanded", func(b *testing.B) {
		for range b.N {
			if !voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, stdlib) {
				b.Fatal("VerifyWithOptions = false")
			}
		}
	})
	b.Run("crypto-ed25519", func(b *testing.B) {
		for range b.N {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("ed25519.Verify = false")
			}
		}
	})
}
