package tlog

import (
	"encoding/binary"
	"testing"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// hashSlice is a sumtlog.HashReader over all stored hashes of a tree.
type hashSlice []sumtlog.Hash

func (s hashSlice) ReadHashes(ids []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(ids))
	for i, id := range ids {
		out[i] = s[id]
	}
	return out, nil
}

// TestProveMatchesSumdb checks hashMap.prove against sumtlog.ProveRecord
// for every leaf of every tree up to 70 leaves and some larger ones, with
// all hashes in the map, and with only the newest leaves' hashes in the
// map and the rest from the fallback, as for a batch's receipts.
func TestProveMatchesSumdb(t *testing.T) {
	var all hashSlice
	tree := newFrontier()
	addLeaf := func() {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(tree.n))
		hs, err := tree.append(sumtlog.RecordHash(b[:]))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, hs...)
	}
	check := func(n int64) {
		full := hashMap{m: make(map[int64]sumtlog.Hash)}
		for id, h := range all {
			full.m[int64(id)] = h
		}
		// The newest third of the leaves' hashes in the map, the rest in
		// the fallback.
		from := sumtlog.StoredHashIndex(0, n-n/3-1)
		part := hashMap{m: make(map[int64]sumtlog.Hash), fallback: all}
		for id := from; id < int64(len(all)); id++ {
			part.m[id] = all[id]
		}
		none := hashMap{m: map[int64]sumtlog.Hash{}}
		for i := int64(0); i < n; i++ {
			want, err := sumtlog.ProveRecord(n, i, all)
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]hashMap{"map": full, "map and fallback": part} {
				got, err := r.prove(n, i)
				if err != nil {
					t.Fatalf("size %d leaf %d, %s: %v", n, i, name, err)
				}
				if len(got) != len(want) {
					t.Fatalf("size %d leaf %d, %s: proof of %d hashes, want %d", n, i, name, len(got), len(want))
				}
				for k := range want {
					if got[k] != want[k] {
						t.Fatalf("size %d leaf %d, %s: hash %d differs", n, i, name, k)
					}
				}
			}
			if _, err := none.prove(n, i); n > 1 && err == nil {
				t.Fatalf("size %d leaf %d: proved with no hashes", n, i)
			}
		}
		if _, err := full.prove(n, n); err == nil {
			t.Fatalf("size %d: proved leaf %d", n, n)
		}
	}
	for tree.n < 70 {
		addLeaf()
		check(tree.n)
	}
	for tree.n < 1029 {
		addLeaf()
		if tree.n%257 == 0 || tree.n == 1024 || tree.n == 1025 {
			check(tree.n)
		}
	}
}

// BenchmarkProve compares hashMap.prove with sumtlog.ProveRecord for the
// leaves of a batch of 128 at the end of a tree of a million leaves, all
// hashes in memory as in a batch's view.
func BenchmarkProve(b *testing.B) {
	const n, batch = 1 << 20, 128
	tree := newFrontier()
	r := hashMap{m: make(map[int64]sumtlog.Hash)}
	var leaf sumtlog.Hash
	for tree.n < n {
		leaf[0]++
		id := sumtlog.StoredHashIndex(0, tree.n)
		hs, err := tree.append(leaf)
		if err != nil {
			b.Fatal(err)
		}
		for k, h := range hs {
			r.m[id+int64(k)] = h
		}
	}
	b.Run("prove", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := r.prove(n, n-batch+int64(i%batch)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sumdb", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := sumtlog.ProveRecord(n, n-batch+int64(i%batch), r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
