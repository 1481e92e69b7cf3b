package tlog

import (
	"hash/maphash"
	"math/bits"
)

// An idFilter is a Bloom filter of the idempotency ids in the log. The
// sequencer asks the database about an id only if the filter may contain
// it: nearly every append brings a new id, and one look-up query per
// handful of entries costs more than the rest of preparing them. A
// false positive (about 1 in 100) costs that query; there are no false
// negatives, because every id is added before its leaf is written (see
// Log.prepare), and the ids that another writer adds are read back when
// the tree is reloaded (see Log.reload).
//
// The filter grows by adding layers of twice the capacity of the last,
// each a Bloom filter of 10 bits and 7 probes per id, so it never needs
// to be rebuilt; a million ids take about 1.5 MB. It is not safe for
// concurrent use: only Open and the sequencer's goroutine touch it.
type idFilter struct {
	seed   maphash.Seed
	layers []*bloomLayer
}

type bloomLayer struct {
	bits     []uint64
	mask     uint64 // len(bits)*64 - 1; the length is a power of two
	n, limit int
}

const (
	idFilterFirst = 1 << 16 // ids in the first layer
	idFilterBits  = 10      // bits per id
	idFilterK     = 7       // probes per id
)

func newIDFilter() *idFilter { return &idFilter{seed: maphash.MakeSeed()} }

// hash returns the two halves of the id's hash for double hashing.
func (f *idFilter) hash(id string) (h1, h2 uint64) {
	h := maphash.String(f.seed, id)
	return h, bits.RotateLeft64(h, 32) | 1
}

// add adds id to the filter.
func (f *idFilter) add(id string) {
	var top *bloomLayer
	if len(f.layers) > 0 {
		top = f.layers[len(f.layers)-1]
	}
	if top == nil || top.n >= top.limit {
		limit := idFilterFirst
		if top != nil {
			limit = 2 * top.limit
		}
		words := 1 << bits.Len(uint(limit*idFilterBits/64-1))
		top = &bloomLayer{bits: make([]uint64, words), mask: uint64(words*64 - 1), limit: limit}
		f.layers = append(f.layers, top)
	}
	h1, h2 := f.hash(id)
	for i := uint64(0); i < idFilterK; i++ {
		b := (h1 + i*h2) & top.mask
		top.bits[b/64] |= 1 << (b % 64)
	}
	top.n++
}

// mayContain reports whether id may have been added; false means it
// certainly was not.
func (f *idFilter) mayContain(id string) bool {
	h1, h2 := f.hash(id)
	for _, l := range f.layers {
		in := true
		for i := uint64(0); i < idFilterK && in; i++ {
			b := (h1 + i*h2) & l.mask
			in = l.bits[b/64]&(1<<(b%64)) != 0
		}
		if in {
			return true
		}
	}
	return false
}
