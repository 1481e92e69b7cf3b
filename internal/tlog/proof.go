package tlog

import (
	"fmt"
	"math/bits"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// prove returns the inclusion proof of leaf i in the tree of size n, the
// same proof as sumtlog.ProveRecord(n, i, r), with one allocation (the
// proof) instead of a few dozen: every Append of a batch proves its leaf,
// so at a few hundred appenders the proofs' garbage was a tenth of the
// CPU. The stored hashes are read from the map, and those it lacks from
// the fallback in one call.
func (r hashMap) prove(n, i int64) (sumtlog.RecordProof, error) {
	if i < 0 || i >= n {
		return nil, fmt.Errorf("tlog: cannot prove leaf %d in a tree of size %d", i, n)
	}
	var extra map[int64]sumtlog.Hash
	for {
		proof, missing := r.proveWith(n, i, extra)
		if missing == nil {
			return proof, nil
		}
		if extra != nil || r.fallback == nil {
			return nil, fmt.Errorf("tlog: stored hash %d not in memory", missing[0])
		}
		hs, err := r.fallback.ReadHashes(missing)
		if err != nil {
			return nil, err
		}
		if len(hs) != len(missing) {
			return nil, fmt.Errorf("tlog: read %d stored hashes, asked for %d", len(hs), len(missing))
		}
		extra = make(map[int64]sumtlog.Hash, len(missing))
		for k, id := range missing {
			extra[id] = hs[k]
		}
	}
}

// proveWith computes the proof from the map and extra. If hashes are
// missing from both, it returns their ids instead (and a useless proof).
//
// The proof is RFC 6962's audit path: going down from the root, the tree
// over [lo, hi) splits at the largest power of two k below hi-lo into a
// complete left subtree and the rest; the half without leaf i is a
// sibling, whose hash is that of the complete subtrees it consists of.
// The proof lists the siblings from the leaf up.
func (r hashMap) proveWith(n, i int64, extra map[int64]sumtlog.Hash) (sumtlog.RecordProof, []int64) {
	depth := 0
	for lo, hi := int64(0), n; hi-lo > 1; depth++ {
		if k := int64(1) << (bits.Len64(uint64(hi-lo-1)) - 1); i < lo+k {
			hi = lo + k
		} else {
			lo += k
		}
	}
	proof := make(sumtlog.RecordProof, depth)
	var missing []int64
	get := func(id int64) sumtlog.Hash {
		if h, ok := r.m[id]; ok {
			return h
		}
		if h, ok := extra[id]; ok {
			return h
		}
		missing = append(missing, id)
		return sumtlog.Hash{}
	}
	// subtree returns the hash of leaves [lo, hi): its complete subtrees,
	// largest first, combined from the right.
	subtree := func(lo, hi int64) sumtlog.Hash {
		var ids [64]int64
		m := 0
		for lo < hi {
			level := bits.Len64(uint64(hi-lo)) - 1
			ids[m] = sumtlog.StoredHashIndex(level, lo>>uint(level))
			m++
			lo += 1 << uint(level)
		}
		h := get(ids[m-1])
		for j := m - 2; j >= 0; j-- {
			h = sumtlog.NodeHash(get(ids[j]), h)
		}
		return h
	}
	d := depth
	for lo, hi := int64(0), n; hi-lo > 1; {
		d--
		if k := int64(1) << (bits.Len64(uint64(hi-lo-1)) - 1); i < lo+k {
			proof[d] = subtree(lo+k, hi)
			hi = lo + k
		} else {
			proof[d] = subtree(lo, lo+k)
			lo += k
		}
	}
	return proof, missing
}
