package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

const verifyUsage = `Usage: qorgau verify --log URL [--key VKEY] [--state FILE] [--receipt FILE] [--policy FILE]

Checks a Qorgau complaint log, or any log served per C2SP tlog-tiles, from
the outside:
  - the checkpoint's signature, against --key (the log's verifier key; if
    omitted it is fetched from URL/key, which only proves the log is
    self-consistent: pin the key you were given out of band);
  - witness cosignatures against --policy (a transparency-dev witness policy
    file), when given;
  - consistency with the checkpoint remembered in --state (default
    ./qorgau-verify.json), which is then updated: a log that was rolled back
    or forked fails here;
  - a receipt's inclusion in the log, when --receipt is given: the receipt's
    own checkpoint is checked, then its consistency with the current one.
Prints what it verified; exits 1 with a plain message on any failure.`

// verifier holds one verification run.
type verifier struct {
	base   string // log URL without trailing slash
	client *http.Client
	out    io.Writer
}

// verifyState is what --state remembers between runs.
type verifyState struct {
	Origin     string `json:"origin"`
	Size       int64  `json:"size"`
	Root       []byte `json:"root"`
	Checkpoint string `json:"checkpoint"`
	CheckedAt  string `json:"checked_at"`
}

func runVerify(ctx context.Context, args []string) error {
	fs := newFlagSet("verify", verifyUsage)
	logURL := fs.String("log", "", "base URL of the log, e.g. https://qorgau.example/log")
	vkey := fs.String("key", "", "the log's verifier key (note format: name+hash+key)")
	statePath := fs.String("state", "qorgau-verify.json", "file remembering the last verified checkpoint")
	receiptPath := fs.String("receipt", "", "a receipt (C2SP tlog-proof) to check for inclusion")
	policyPath := fs.String("policy", "", "witness policy file; the checkpoint must satisfy its quorum")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *logURL == "" {
		fs.Usage()
		return usageError("verify: --log is required")
	}
	v := &verifier{base: strings.TrimSuffix(*logURL, "/"), client: &http.Client{Timeout: 30 * time.Second}, out: os.Stdout}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	if *vkey == "" {
		b, err := v.get(ctx, "key")
		if err != nil {
			return fmt.Errorf("no --key given and the log's key could not be fetched: %w", err)
		}
		*vkey = strings.TrimSpace(string(b))
		fmt.Fprintf(v.out, "warning: key taken from the log itself (%s); pass --key to pin it\n", *vkey)
	}
	logVerifier, err := fnote.NewVerifier(*vkey)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	origin := logVerifier.Name()

	raw, err := v.get(ctx, "checkpoint")
	if err != nil {
		return err
	}
	cp, _, _, err := flog.ParseCheckpoint(raw, origin, logVerifier)
	if err != nil {
		return fmt.Errorf("checkpoint does not verify under the key %s: %w", logVerifier.Name(), err)
	}
	root := sumtlog.Hash(cp.Hash)
	size := int64(cp.Size)
	fmt.Fprintf(v.out, "ok  checkpoint of %s: size %d, root %x…, signed by the log's key\n", origin, size, root[:6])

	if *policyPath != "" {
		pb, err := os.ReadFile(*policyPath)
		if err != nil {
			return err
		}
		policy, err := witness.ParsePolicy(pb)
		if err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		if !policy.Satisfied(raw) {
			return errors.New("the checkpoint is not cosigned by the witnesses the policy requires")
		}
		fmt.Fprintf(v.out, "ok  witness cosignatures satisfy the policy\n")
	}

	tree := sumtlog.Tree{N: size, Hash: root}
	hashes := sumtlog.TileHashReader(tree, &tileReader{v: v, ctx: ctx})

	state, err := readState(*statePath)
	if err != nil {
		return err
	}
	if state != nil {
		if state.Origin != origin {
			return fmt.Errorf("state file %s is for log %q, not %q", *statePath, state.Origin, origin)
		}
		if err := v.consistent(state.Size, sumtlog.Hash(state.Root), tree, hashes); err != nil {
			return fmt.Errorf("the log is NOT consistent with the checkpoint remembered in %s (size %d): %w", *statePath, state.Size, err)
		}
		fmt.Fprintf(v.out, "ok  consistent with the last verified checkpoint (size %d → %d)\n", state.Size, size)
	}

	if *receiptPath != "" {
		if err := v.checkReceipt(ctx, *receiptPath, logVerifier, tree, hashes); err != nil {
			return fmt.Errorf("receipt %s: %w", *receiptPath, err)
		}
	}

	if state == nil || size >= state.Size {
		if err := writeState(*statePath, &verifyState{Origin: origin, Size: size, Root: root[:], Checkpoint: string(raw),
			CheckedAt: time.Now().UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
	}
	fmt.Fprintf(v.out, "verified: %s at size %d\n", origin, size)
	return nil
}

// consistent checks that the tree of size old and root oldRoot is a prefix
// of tree.
func (v *verifier) consistent(old int64, oldRoot sumtlog.Hash, tree sumtlog.Tree, hashes sumtlog.HashReader) error {
	switch {
	case old > tree.N:
		return fmt.Errorf("the log now has %d entries, fewer than the %d seen before: it was rolled back", tree.N, old)
	case old == tree.N:
		if oldRoot != tree.Hash {
			return errors.New("same size, different root: the log was forked")
		}
		return nil
	case old == 0:
		return nil
	}
	p, err := sumtlog.ProveTree(tree.N, old, hashes)
	if err != nil {
		return fmt.Errorf("cannot build the consistency proof from the log's tiles: %w", err)
	}
	if err := sumtlog.CheckTree(p, tree.N, tree.Hash, old, oldRoot); err != nil {
		return fmt.Errorf("consistency proof fails: %w", err)
	}
	return nil
}

// checkReceipt checks a C2SP tlog-proof receipt: its checkpoint's signature,
// the inclusion of the entry its index names (read from the log's entry
// tiles), and the consistency of its checkpoint with the current tree.
func (v *verifier) checkReceipt(ctx context.Context, path string, logVerifier note.Verifier, tree sumtlog.Tree, hashes sumtlog.HashReader) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var p proof.TLogProof
	if err := p.Unmarshal(b); err != nil {
		return fmt.Errorf("not a C2SP tlog-proof: %w", err)
	}
	rcp, _, _, err := flog.ParseCheckpoint(p.Checkpoint, logVerifier.Name(), logVerifier)
	if err != nil {
		return fmt.Errorf("its checkpoint does not verify under the log's key: %w", err)
	}
	rsize, rroot, index := int64(rcp.Size), sumtlog.Hash(rcp.Hash), int64(p.Index)
	if index >= rsize {
		return fmt.Errorf("index %d is beyond its checkpoint's size %d", index, rsize)
	}
	entry, err := v.entry(ctx, index, tree.N)
	if err != nil {
		return err
	}
	leaf := sumtlog.RecordHash(entry)
	rp := make(sumtlog.RecordProof, len(p.Hashes))
	for i, h := range p.Hashes {
		rp[i] = sumtlog.Hash(h)
	}
	if err := sumtlog.CheckRecord(rp, rsize, rroot, index, leaf); err != nil {
		return fmt.Errorf("entry %d is NOT included in the receipt's checkpoint: %w", index, err)
	}
	fmt.Fprintf(v.out, "ok  receipt: entry %d is included in the checkpoint of size %d it carries\n", index, rsize)
	if err := v.consistent(rsize, rroot, tree, hashes); err != nil {
		return fmt.Errorf("the receipt's checkpoint is NOT consistent with the log now: %w", err)
	}
	fmt.Fprintf(v.out, "ok  receipt's checkpoint is consistent with the current one (size %d → %d)\n", rsize, tree.N)
	return nil
}

// entry fetches entry index from the log's entry bundles.
func (v *verifier) entry(ctx context.Context, index, size int64) ([]byte, error) {
	n := index / 256
	w := min(size-n*256, 256)
	t := sumtlog.Tile{H: 8, L: -1, N: n, W: int(w)}
	b, err := v.get(ctx, strings.Replace(t.Path(), "tile/8/data/", "tile/entries/", 1))
	if err != nil {
		return nil, err
	}
	for i := int64(0); len(b) >= 2; i++ {
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l {
			break
		}
		if i == index%256 {
			return b[2 : 2+l], nil
		}
		b = b[2+l:]
	}
	return nil, fmt.Errorf("entry %d is not in its entry bundle", index)
}

func (v *verifier) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/%s: %s", v.base, path, resp.Status)
	}
	return b, nil
}

// tileReader fetches hash tiles per C2SP tlog-tiles (tile/{L}/{N}[.p/{W}],
// height 8) for sumdb/tlog's TileHashReader, which checks them against the
// tree it was given.
type tileReader struct {
	v   *verifier
	ctx context.Context
}

func (r *tileReader) Height() int { return 8 }

func (r *tileReader) ReadTiles(tiles []sumtlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.v.get(r.ctx, strings.Replace(t.Path(), "tile/8/", "tile/", 1))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]sumtlog.Tile, [][]byte) {}

func readState(path string) (*verifyState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var s verifyState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if len(s.Root) != sha256.Size {
		return nil, fmt.Errorf("state file %s: bad root", path)
	}
	return &s, nil
}

// writeState replaces the state file atomically, so a crash leaves either
// the old or the new state.
func writeState(path string, s *verifyState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".qorgau-verify-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
