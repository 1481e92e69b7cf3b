package tlog

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"

	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// TestTesseraClient reads the log over HTTP with the transparency-dev
// tessera client, which shares no code with sumdb/tlog: it checks the
// checkpoint's signature, proves every entry's inclusion and the
// consistency between sizes from the tiles, follows the log as it grows,
// and rebuilds the whole tree from the entry bundles.
func TestTesseraClient(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, dbURL string) {
		ctx := context.Background()
		l := start(t, db, testConfig(t))
		srv := httptest.NewServer(l.Handler())
		defer srv.Close()
		u, _ := url.Parse(srv.URL + "/log/")
		f, err := client.NewHTTPFetcher(u, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		h := rfc6962.DefaultHasher

		appendN(t, l, 0, 300, 8)
		cp0, raw0, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, l.Verifier(), testOrigin)
		if err != nil {
			t.Fatalf("FetchCheckpoint = %v", err)
		}
		tracker, err := client.NewLogStateTracker(ctx, f.ReadTile, raw0, l.Verifier(), testOrigin, client.UnilateralConsensus(f.ReadCheckpoint))
		if err != nil {
			t.Fatal(err)
		}

		// Grow the log in uneven batches; the tracker must prove each step
		// consistent with the one before.
		n := 300
		for _, k := range []int{1, 255, 256, 1000, 37} {
			appendN(t, l, n, n+k, 16)
			n += k
			if _, _, _, err := tracker.Update(ctx); err != nil {
				t.Fatalf("LogStateTracker.Update to %d = %v", n, err)
			}
			if got := tracker.Latest().Size; got != uint64(n) {
				t.Fatalf("tracker at size %d, want %d", got, n)
			}
		}
		cp, _, _, err := client.FetchCheckpoint(ctx, f.ReadCheckpoint, l.Verifier(), testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		size := cp.Size

		// Consistency from the first checkpoint, proved from tiles alone.
		pb, err := client.NewProofBuilder(ctx, size, f.ReadTile)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := pb.ConsistencyProof(ctx, cp0.Size, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(h, cp0.Size, size, cons, cp0.Hash, cp.Hash); err != nil {
			t.Fatalf("consistency %d → %d: %v", cp0.Size, size, err)
		}

		// Rebuild the tree from every entry bundle; check each leaf's
		// inclusion proof and its receipt.
		rng := (&compact.RangeFactory{Hash: h.HashChildren}).NewEmptyRange(0)
		leafHashes, err := client.FetchLeafHashes(ctx, f.ReadTile, 0, size, size)
		if err != nil {
			t.Fatalf("FetchLeafHashes = %v", err)
		}
		for b := uint64(0); b*256 < size; b++ {
			bundle, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, b, size)
			if err != nil {
				t.Fatalf("GetEntryBundle(%d) = %v", b, err)
			}
			for i, e := range bundle.Entries {
				idx := b*256 + uint64(i)
				leaf := h.HashLeaf(e)
				if !bytes.Equal(leaf, leafHashes[idx]) {
					t.Fatalf("entry %d: bundle and level-0 tile disagree", idx)
				}
				if err := rng.Append(leaf, nil); err != nil {
					t.Fatal(err)
				}
				if idx%97 == 0 || idx == size-1 {
					incl, err := pb.InclusionProof(ctx, idx)
					if err != nil {
						t.Fatal(err)
					}
					if err := proof.VerifyInclusion(h, idx, size, leaf, incl, cp.Hash); err != nil {
						t.Fatalf("inclusion of %d: %v", idx, err)
					}
					if _, err := ParseRecord(e); err != nil {
						t.Fatalf("entry %d is not a record: %v", idx, err)
					}
				}
			}
		}
		if rng.End() != size {
			t.Fatalf("bundles hold %d entries, checkpoint says %d", rng.End(), size)
		}
		root, err := rng.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, cp.Hash) {
			t.Fatalf("tree rebuilt from the entries has root %x, checkpoint %x", root, cp.Hash)
		}

		// A receipt's proof, checked with the other library.
		r, err := l.Receipt(ctx, 1234)
		if err != nil {
			t.Fatal(err)
		}
		hashes := make([][]byte, len(r.Proof))
		for i := range r.Proof {
			hashes[i] = r.Proof[i][:]
		}
		if err := proof.VerifyInclusion(h, 1234, size, h.HashLeaf(r.Record), hashes, cp.Hash); err != nil {
			t.Errorf("receipt's proof, checked by transparency-dev/merkle: %v", err)
		}
	})
}
