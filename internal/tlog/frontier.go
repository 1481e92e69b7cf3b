package tlog

import (
	"fmt"
	"math/bits"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// A frontier is the right edge of a tree of n leaves: the hashes of the
// complete subtrees whose concatenation is the tree, one per set bit of n,
// keyed by stored hash index. That is all sumtlog needs to append a leaf
// (StoredHashesForRecordHash reads only those) and to compute the root
// (TreeHash reads exactly those), so the sequencer and Open's verification
// never read the tree back from the database.
type frontier struct {
	n int64
	h map[int64]sumtlog.Hash
}

func newFrontier() *frontier { return &frontier{h: make(map[int64]sumtlog.Hash, 64)} }

// ReadHashes implements sumtlog.HashReader over the frontier.
func (f *frontier) ReadHashes(ids []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(ids))
	for i, id := range ids {
		h, ok := f.h[id]
		if !ok {
			return nil, fmt.Errorf("tlog: stored hash %d is not on the edge of the tree of size %d", id, f.n)
		}
		out[i] = h
	}
	return out, nil
}

// append adds the leaf with hash leaf as leaf f.n and returns the stored
// hashes that creates, to be stored from sumtlog.StoredHashIndex(0, f.n).
func (f *frontier) append(leaf sumtlog.Hash) ([]sumtlog.Hash, error) {
	n := f.n
	hashes, err := sumtlog.StoredHashesForRecordHash(n, leaf, f)
	if err != nil {
		return nil, err
	}
	// Appending leaf n completes one subtree per trailing 1 bit of n,
	// merging the frontier's hashes at those levels into one at level m.
	m := bits.TrailingZeros64(uint64(n + 1))
	for i := 0; i < m; i++ {
		delete(f.h, sumtlog.StoredHashIndex(i, n>>uint(i)-1))
	}
	f.h[sumtlog.StoredHashIndex(m, n>>uint(m))] = hashes[m]
	f.n++
	return hashes, nil
}

// root returns the root hash of the tree.
func (f *frontier) root() (sumtlog.Hash, error) { return sumtlog.TreeHash(f.n, f) }

// ids returns the stored hash indexes of the frontier of a tree of size n.
func frontierIDs(n int64) []int64 {
	var ids []int64
	for l := 0; l < 63; l++ {
		if n>>uint(l)&1 == 1 {
			ids = append(ids, sumtlog.StoredHashIndex(l, n>>uint(l)-1))
		}
	}
	return ids
}

func (f *frontier) clone() *frontier {
	c := &frontier{n: f.n, h: make(map[int64]sumtlog.Hash, len(f.h))}
	for k, v := range f.h {
		c.h[k] = v
	}
	return c
}

// hashMap is a sumtlog.HashReader over a map, with a fallback for what the
// map lacks.
type hashMap struct {
	m        map[int64]sumtlog.Hash
	fallback sumtlog.HashReader
}

func (r hashMap) ReadHashes(ids []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(ids))
	var missing []int64
	for i, id := range ids {
		h, ok := r.m[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out[i] = h
	}
	if len(missing) == 0 {
		return out, nil
	}
	if r.fallback == nil {
		return nil, fmt.Errorf("tlog: stored hash %d not in memory", missing[0])
	}
	more, err := r.fallback.ReadHashes(missing)
	if err != nil {
		return nil, err
	}
	j := 0
	for i, id := range ids {
		if _, ok := r.m[id]; !ok {
			out[i] = more[j]
			j++
		}
	}
	return out, nil
}
