package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	sumtlog "golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/errgroup"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// verifyChunk is how many rows the scanning goroutines hand over at once.
const verifyChunk = 4096

type storedHash struct {
	id int64
	h  sumtlog.Hash
}

type storedCheckpoint struct {
	size           int64
	root, noteRoot sumtlog.Hash
}

// verify checks everything the database holds about the log and sets the
// sequencer's tree and the published checkpoint from it. On an empty log it
// signs and stores the checkpoint of the empty tree.
//
// Three goroutines read the entries, the stored hashes and the
// checkpoints, each in order; this one rebuilds the tree leaf by leaf from
// the entries and compares every hash it makes with the stored one, and
// the root at every checkpoint's size with that checkpoint. Every hash the
// tree has is thus recomputed once, from the entries alone.
func (l *Log) verify(ctx context.Context, lead bool) error {
	start := time.Now()
	latest, err := l.db.LatestLogCheckpoint(ctx)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		return l.create(ctx)
	}
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	c, err := OpenCheckpoint(latest.Note, l.verifier)
	if err != nil {
		return fmt.Errorf("log: refusing to start: the latest checkpoint (size %d) is not valid: %w", latest.Size, err)
	}
	if c.Size != latest.Size || c.Root != latest.Root {
		return fmt.Errorf("log: refusing to start: the latest checkpoint row says size %d, root %s, but its signed note says size %d, root %s",
			latest.Size, sumtlog.Hash(latest.Root), c.Size, c.Root)
	}
	n := latest.Size
	// Leaves beyond the latest checkpoint are the last batch if its
	// checkpoint, signed after the batch committed, had not been stored
	// when the server stopped: it is signed again below. More than one
	// batch means checkpoints were deleted.
	//
	// A standby (lead false) checks the log up to the latest checkpoint
	// only, and signs nothing: the sequencer on another server appends
	// meanwhile, so leaves beyond that checkpoint, and checkpoints not
	// yet stored for them, are its work in progress. Lead checks it all
	// again, holding the lock, before it appends.
	size, bound := n, int64(-1)
	if lead {
		var batches int64
		if size, batches, err = l.db.LogSize(ctx, n); err != nil {
			return fmt.Errorf("log: %w", err)
		}
		if batches > 1 {
			return fmt.Errorf("log: refusing to start: the database holds more entries than the latest checkpoint's %d, from %d batches: checkpoints were deleted", n, batches)
		}
	} else {
		bound = n
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	leafc := make(chan []sumtlog.Hash, 4)
	hashc := make(chan []storedHash, 4)
	cpc := make(chan []storedCheckpoint, 4)
	g.Go(func() error { defer close(leafc); return l.scanLeaves(gctx, leafc, bound) })
	g.Go(func() error { defer close(hashc); return l.scanHashes(gctx, hashc, bound) })
	g.Go(func() error { defer close(cpc); return l.scanCheckpoints(gctx, cpc, bound) })
	ids := newIDFilter()
	g.Go(func() error {
		return l.db.ScanLogIdempotencyIDs(gctx, 0, func(id string) error { ids.add(id); return nil })
	})

	tree := newFrontier()
	hashes := &hashStream{c: hashc}
	cps := &checkpointStream{c: cpc}
	check := func() error {
		// Checkpoints at the current size, if any.
		cp, ok := cps.peek()
		if !ok || cp.size != tree.n {
			if ok && cp.size < tree.n {
				return fmt.Errorf("checkpoint of size %d is out of order", cp.size)
			}
			return nil
		}
		cps.next()
		root, err := tree.root()
		if err != nil {
			return err
		}
		if cp.root != root || cp.noteRoot != root {
			return fmt.Errorf("the checkpoint of size %d has root %s (signed note: %s), but the stored entries give %s: the checkpoint or the entries were changed",
				cp.size, cp.root, cp.noteRoot, root)
		}
		return nil
	}
	err = func() error {
		if err := check(); err != nil {
			return err
		}
		for chunk := range leafc {
			for _, leaf := range chunk {
				if tree.n >= size {
					return fmt.Errorf("the database holds more entries than the %d it held a moment ago", size)
				}
				i := tree.n
				hs, err := tree.append(leaf)
				if err != nil {
					return err
				}
				for k, h := range hs {
					want := sumtlog.StoredHashIndex(0, i) + int64(k)
					s, ok := hashes.next()
					switch {
					case !ok:
						return fmt.Errorf("stored hash %d (entry %d) is missing", want, i)
					case s.id != want:
						return fmt.Errorf("stored hash %d (entry %d) is missing: the next one stored is %d", want, i, s.id)
					case s.h != h && k == 0:
						return fmt.Errorf("entry %d does not match the tree: its record hashes to %s, but the stored leaf hash is %s: the entry or the hash was changed", i, h, s.h)
					case s.h != h:
						return fmt.Errorf("stored hash %d (level %d above entry %d) is %s, but the entries give %s: the hash was changed", s.id, k, i, s.h, h)
					}
				}
				if err := check(); err != nil {
					return err
				}
			}
		}
		extraHash, isExtraHash := hashes.next()
		extraCp, isExtraCp := cps.peek()
		for range hashc {
		}
		for range cpc {
		}
		if err := g.Wait(); err != nil {
			return err
		}
		switch {
		case tree.n < n:
			return fmt.Errorf("the latest checkpoint covers %d entries, but the database holds only %d", n, tree.n)
		case isExtraHash:
			return fmt.Errorf("stored hash %d is beyond the tree of size %d", extraHash.id, tree.n)
		case isExtraCp:
			return fmt.Errorf("checkpoint of size %d is beyond the tree", extraCp.size)
		}
		return nil
	}()
	if err != nil {
		// A scan that failed ends its stream early, which looks like
		// missing rows: its own error says more.
		cancel()
		if gerr := g.Wait(); gerr != nil && !errors.Is(gerr, context.Canceled) {
			err = gerr
		}
		return fmt.Errorf("log: refusing to start: %w", err)
	}
	root, note := c.Root, latest.Note
	if tree.n > n && lead {
		if root, err = tree.root(); err != nil {
			return fmt.Errorf("log: %w", err)
		}
		if note, err = l.storeCheckpoint(ctx, tree.n, root); err != nil {
			return fmt.Errorf("log: %w", err)
		}
		l.log.Info("log: signed the checkpoint of the last batch, which had not been stored", "size", tree.n, "previous", n)
		n = tree.n
	}
	l.tree, l.ids, l.idsFrom = tree, ids, n
	l.pub.Store(&published{size: n, root: root, note: note})
	d := time.Since(start)
	l.log.Info("log verified", "size", n, "root", c.Root.String(), "took", d.Round(time.Millisecond).String(),
		"entries_per_second", int64(float64(n)/max(d.Seconds(), 1e-9)))
	return nil
}

// create signs and stores the checkpoint of the empty tree. A database
// with entries or hashes but no checkpoint lost its checkpoints.
func (l *Log) create(ctx context.Context) error {
	leaves, hashes, _, err := l.db.LogCounts(ctx)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	if leaves > 0 || hashes > 0 {
		return fmt.Errorf("log: refusing to start: the database holds %d entries and %d hashes but no checkpoint: the checkpoints were deleted", leaves, hashes)
	}
	tree := newFrontier()
	root, err := tree.root()
	if err != nil {
		return err
	}
	cp, err := l.sign(0, root)
	if err != nil {
		return err
	}
	if err := l.db.AppendLogBatch(ctx, 0, l.now(), nil, nil, &store.LogCheckpoint{Size: 0, Root: root, Note: cp, At: l.now()}); err != nil {
		return fmt.Errorf("log: create: %w", err)
	}
	l.tree, l.ids, l.idsFrom = tree, newIDFilter(), 0
	l.pub.Store(&published{size: 0, root: root, note: cp})
	l.log.Info("log created", "origin", l.origin)
	return nil
}

// errBound ends a scan at the tree size it is bounded to.
var errBound = errors.New("log: scan bound reached")

// scanLeaves sends the leaf hashes of every entry in index order, checking
// that indexes have no gaps and that each entry is a valid record of the
// kind its row says. With bound ≥ 0, it stops before entry bound.
func (l *Log) scanLeaves(ctx context.Context, out chan<- []sumtlog.Hash, bound int64) error {
	ch := newChunker(ctx, out)
	next := int64(0)
	err := l.db.ScanLogEntries(ctx, func(index int64, kind string, entry []byte) error {
		if bound >= 0 && index >= bound {
			return errBound
		}
		if index != next {
			return fmt.Errorf("entry %d is missing (the next one stored is %d)", next, index)
		}
		next++
		if !bytes.HasPrefix(entry, []byte(recordHeader+"kind "+kind+"\n")) {
			if _, err := ParseRecord(entry); err != nil {
				return fmt.Errorf("entry %d: %w", index, err)
			}
			return fmt.Errorf("entry %d: its row says kind %q, its record does not", index, kind)
		}
		return ch.add(sumtlog.RecordHash(entry))
	})
	if err != nil && err != errBound {
		return err
	}
	return ch.flush()
}

// scanHashes sends the stored hashes in order; with bound ≥ 0, those of
// the tree of size bound only.
func (l *Log) scanHashes(ctx context.Context, out chan<- []storedHash, bound int64) error {
	ch := newChunker(ctx, out)
	err := l.db.ScanLogHashes(ctx, func(id int64, h []byte) error {
		if bound >= 0 && id >= sumtlog.StoredHashCount(bound) {
			return errBound
		}
		if len(h) != sumtlog.HashSize {
			return fmt.Errorf("stored hash %d is %d bytes", id, len(h))
		}
		return ch.add(storedHash{id, sumtlog.Hash(h)})
	})
	if err != nil && err != errBound {
		return err
	}
	return ch.flush()
}

// scanCheckpoints sends every checkpoint with the root its note states,
// checking that each note names this log and the row's size. Only the
// latest checkpoint's signature is checked (by verify): the others are
// history, and their roots are checked against the tree. With bound ≥ 0,
// it stops after the checkpoint of size bound.
func (l *Log) scanCheckpoints(ctx context.Context, out chan<- []storedCheckpoint, bound int64) error {
	ch := newChunker(ctx, out)
	err := l.db.ScanLogCheckpoints(ctx, func(cp store.LogCheckpoint) error {
		if bound >= 0 && cp.Size > bound {
			return errBound
		}
		c, err := parseSignedCheckpoint(cp.Note)
		if err != nil {
			return fmt.Errorf("checkpoint of size %d: %w", cp.Size, err)
		}
		if c.Origin != l.origin || c.Size != cp.Size {
			return fmt.Errorf("checkpoint row of size %d holds a note for %q size %d", cp.Size, c.Origin, c.Size)
		}
		return ch.add(storedCheckpoint{size: cp.Size, root: cp.Root, noteRoot: c.Root})
	})
	if err != nil && err != errBound {
		return err
	}
	return ch.flush()
}

// chunker batches items into slices of verifyChunk and sends each full one
// on out; flush sends the rest. The verifier's goroutines read the store in
// chunks so that a million entries cost a few thousand channel operations.
type chunker[T any] struct {
	ctx   context.Context
	out   chan<- []T
	chunk []T
}

func newChunker[T any](ctx context.Context, out chan<- []T) *chunker[T] {
	return &chunker[T]{ctx: ctx, out: out, chunk: make([]T, 0, verifyChunk)}
}

// add appends v, sending the chunk when it is full.
func (c *chunker[T]) add(v T) error {
	c.chunk = append(c.chunk, v)
	if len(c.chunk) < verifyChunk {
		return nil
	}
	return c.flush()
}

// flush sends what has been added since the last send.
func (c *chunker[T]) flush() error {
	if len(c.chunk) == 0 {
		return nil
	}
	select {
	case c.out <- c.chunk:
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
	c.chunk = make([]T, 0, verifyChunk)
	return nil
}

type hashStream struct {
	c   <-chan []storedHash
	buf []storedHash
}

func (s *hashStream) next() (storedHash, bool) {
	for len(s.buf) == 0 {
		b, ok := <-s.c
		if !ok {
			return storedHash{}, false
		}
		s.buf = b
	}
	h := s.buf[0]
	s.buf = s.buf[1:]
	return h, true
}

type checkpointStream struct {
	c   <-chan []storedCheckpoint
	buf []storedCheckpoint
}

func (s *checkpointStream) peek() (storedCheckpoint, bool) {
	for len(s.buf) == 0 {
		b, ok := <-s.c
		if !ok {
			return storedCheckpoint{}, false
		}
		s.buf = b
	}
	return s.buf[0], true
}

func (s *checkpointStream) next() { s.buf = s.buf[1:] }

// checkStateFile compares the database with the checkpoint kept in the
// state file (see Config.StateFile) and brings the file up to date.
func (l *Log) checkStateFile(ctx context.Context) error {
	if l.stateFile == "" {
		return nil
	}
	p := l.pub.Load()
	b, err := readStateFile(l.stateFile)
	if err != nil {
		return fmt.Errorf("log: state file: %w", err)
	}
	if b == nil {
		if p.size > 0 {
			l.log.Warn("log: no state file, so a database restored from an old backup cannot be detected this time; creating it",
				"file", l.stateFile, "size", p.size)
		}
		l.saveState()
		if l.stateSaved.Load() != p.size {
			return fmt.Errorf("log: cannot write the state file %s", l.stateFile)
		}
		return nil
	}
	c, err := OpenCheckpoint(b, l.verifier)
	if err != nil {
		return fmt.Errorf("log: state file %s does not hold a checkpoint of this log: %w", l.stateFile, err)
	}
	held := p.size
	if c.Size > p.size && l.standby.Load() {
		// A standby publishes only stored checkpoints; the one this
		// server published last, as the sequencer, may be of a batch
		// committed before its checkpoint row was stored. The entries
		// decide.
		if held, _, err = l.db.LogSize(ctx, p.size); err != nil {
			return fmt.Errorf("log: state file check: %w", err)
		}
	}
	if c.Size > held {
		return fmt.Errorf("log: refusing to start: the database is older than the last published checkpoint %d (kept in %s), it holds only %d entries: restored from an old backup? "+
			"Restore the newest database; the log must never go back", c.Size, l.stateFile, held)
	}
	root := p.root
	if c.Size != p.size {
		root, err = sumtlog.TreeHash(c.Size, l.hashReader(ctx))
		if err != nil {
			return fmt.Errorf("log: state file check: %w", err)
		}
	}
	if root != c.Root {
		return fmt.Errorf("log: refusing to start: the database's tree of size %d has root %s, but the checkpoint the log published at that size (kept in %s) has root %s: "+
			"the database was replaced or rewritten", c.Size, root, l.stateFile, c.Root)
	}
	l.stateSaved.Store(c.Size)
	l.saveState() // no-op while the file is ahead of what is published
	return nil
}
