package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync/atomic"
	"time"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// An Entry is something to log.
type Entry struct {
	// Kind is the record kind, such as "complaint", "status" or "evidence"
	// (see Record for the rules).
	Kind string
	// IdempotencyID names the entry for retries: 1 to MaxIdempotencyID
	// printable ASCII characters, unique in the log. It is stored but not
	// part of the leaf; a client-chosen random id is best.
	IdempotencyID string
	// Object is what the leaf commits to, at most MaxObjectSize bytes. It is
	// stored next to the tree until erased.
	Object []byte
	// Meta is the public metadata of the record (see Record for the rules).
	Meta map[string]string
}

// Validate checks the entry against the rules above. Its errors have code
// EINVALID.
func (e *Entry) Validate() error {
	if len(e.IdempotencyID) == 0 || len(e.IdempotencyID) > MaxIdempotencyID {
		return qorgau.Errorf(qorgau.EINVALID, "idempotency id must be 1 to %d characters", MaxIdempotencyID)
	}
	for i := 0; i < len(e.IdempotencyID); i++ {
		if c := e.IdempotencyID[i]; c <= ' ' || c > '~' {
			return qorgau.Errorf(qorgau.EINVALID, "idempotency id must be printable ASCII without spaces")
		}
	}
	if len(e.Object) > MaxObjectSize {
		return qorgau.Errorf(qorgau.EINVALID, "object is %d bytes, at most %d allowed", len(e.Object), MaxObjectSize)
	}
	r := Record{Kind: e.Kind, Meta: e.Meta}
	if err := r.validate(); err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "%s", err.Error())
	}
	return nil
}

// request is one Append waiting for the sequencer.
type request struct {
	e      Entry
	salt   []byte
	record []byte
	leaf   sumtlog.Hash
	done   chan result // buffered: the sequencer never blocks on it
	// answered is set once something was sent on done.
	answered bool
	// followers are later requests with the same idempotency id and
	// content, answered with this one (guarded by Log.mu).
	followers []*request
}

// result is the sequencer's answer to a request. If existing >= 0 the
// entry was already in the log at that index and the requester builds its
// own receipt; otherwise index, proofs and cp say where it went.
type result struct {
	err      error
	existing int64
	index    int64
	salt     []byte
	record   []byte
	proofs   hashMap // the batch's hashes, for the inclusion proof
	size     int64
	cp       []byte
}

var errStopped = errors.New("the log is not running")

// Append logs e and returns its receipt once the batch holding it has
// committed. If an entry with the same idempotency id is already in the
// log with the same kind, metadata and object, Append returns a receipt for
// that entry against the latest checkpoint instead of adding a leaf; if its
// content differs, or its object was erased, the error has code ECONFLICT.
// An invalid entry is an EINVALID error. Append waits for Run; if ctx ends
// first it returns ctx's error, and the entry may or may not be in the log:
// retry with the same idempotency id to find out. On a standby (see Lead)
// the error has code EUNAVAILABLE: retry shortly, perhaps on another
// server.
func (l *Log) Append(ctx context.Context, e Entry) (*Receipt, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	req := &request{e: e, salt: make([]byte, SaltSize), done: make(chan result, 1)}
	if _, err := io.ReadFull(l.rand, req.salt); err != nil {
		return nil, fmt.Errorf("log salt: %w", err)
	}
	rec := Record{Kind: e.Kind, Commitment: Commit(req.salt, e.Object), Meta: e.Meta}
	req.record = rec.appendText(nil)
	req.leaf = sumtlog.RecordHash(req.record)

	if l.standby.Load() {
		return nil, errStandby
	}
	select {
	case <-l.stopped:
		return nil, errStopped
	default:
	}
	select {
	case l.queue <- req:
	case <-l.stopped:
		return nil, errStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var res result
	select {
	case res = <-req.done:
	case <-l.stopped:
		// Run answers every request it took before it stops; one that
		// came later is not in the log.
		select {
		case res = <-req.done:
		default:
			return nil, errStopped
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != nil {
		return nil, res.err
	}
	if res.existing >= 0 {
		return l.Receipt(ctx, res.existing)
	}
	proof, err := res.proofs.prove(res.size, res.index)
	if err != nil {
		return nil, fmt.Errorf("prove log entry %d: %w", res.index, err)
	}
	return &Receipt{Index: res.index, Salt: res.salt, Record: res.record, Proof: proof, Checkpoint: res.cp}, nil
}

// Run is the sequencer: it commits the entries given to Append in batches
// until ctx ends, then finishes the batches in hand, fails the entries still
// waiting, saves the state file and returns nil. Only one Run may be
// active; a second returns an error at once. A failed batch fails its
// entries and does not stop Run.
//
// Run's goroutine prepares the next batch (idempotency look-up, new tree
// hashes) while a second goroutine writes the previous one, so that the
// database's commit, the slow part, is always busy. The next batch stays
// open until the writer is free: whatever arrives meanwhile joins it, so
// a batch is everything that arrived during the previous commit, and an
// entry waits for at most one commit before its own. The writer signs the
// batch's checkpoint when it takes it. A batch is prepared on the tree the
// previous batch will make; if that one fails, the batches prepared on it
// fail too and the tree is reloaded from the database.
func (l *Log) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("log: Run called twice")
	}
	w := &writer{
		l:         l,
		appender:  l.db.NewLogAppender(),
		batches:   make(chan *prepared),
		processed: make(chan struct{}, 1),
		saveState: make(chan struct{}, 1),
		finished:  make(chan struct{}),
	}
	w.failed.Store(-1)
	defer w.appender.Close()
	go w.run()
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		for range w.saveState {
			t0 := time.Now()
			l.saveState()
			// Two fsyncs and a rename per write: at most one write per
			// stateEvery, not one per batch. Signals meanwhile coalesce.
			time.Sleep(stateEvery - time.Since(t0))
		}
	}()
	defer func() {
		close(w.batches)
		<-w.finished
		close(l.stopped)
		for {
			select {
			case req := <-l.queue:
				req.answer(result{err: errStopped})
				continue
			default:
			}
			break
		}
		close(w.saveState)
		<-saved
		l.saveState()
	}()

	// A batch in hand is finished even if ctx has just ended.
	wctx := context.WithoutCancel(ctx)
	batch := make([]*request, 0, maxBatch)
	var next *prepared // the open batch, handed to the writer when it is free
	for {
		if next != nil {
			// The writer comes first: a free writer must not wait while
			// the open batch takes in more.
			select {
			case w.batches <- next:
				l.sent++
				next = nil
			default:
			}
		}
		queue, send := l.queue, chan *prepared(nil)
		if next != nil {
			send = w.batches
			if len(next.reqs) >= maxBatch || next.bytes >= maxBatchBytes {
				queue = nil // full: wait for the writer
			}
		}
		batch = batch[:0]
		select {
		case <-ctx.Done():
			if next != nil {
				l.sent++
				w.batches <- next
			}
			return nil
		case send <- next:
			l.sent++
			next = nil
			continue
		case req := <-queue:
			batch = append(batch, req)
		}
		n, bytes := len(batch), len(batch[0].e.Object)
		if next != nil {
			n, bytes = n+len(next.reqs), bytes+next.bytes
		}
	drain:
		for n < maxBatch && bytes < maxBatchBytes {
			select {
			case req := <-l.queue:
				batch = append(batch, req)
				n++
				bytes += len(req.e.Object)
			default:
				break drain
			}
		}
		if w.failed.Load() >= l.epoch {
			// The writer failed a batch this tree was built on: fail the
			// open batch, wait for the writer to finish the rest, then
			// start again from the database.
			if next != nil {
				l.finish(next.reqs, result{err: errEarlierFailed})
				next = nil
			}
			w.wait(l.sent)
			l.epoch++
			if err := l.reload(wctx); err != nil {
				l.log.Error("log: cannot reload the tree after a failed batch", "err", err)
				fail(batch, fmt.Errorf("log: cannot reload the tree after a failed batch: %w", err))
				w.failed.Store(l.epoch) // and try again next time
				continue
			}
		}
		var err error
		if next, err = l.prepare(wctx, next, batch); err != nil {
			l.log.Error("log: cannot extend the tree", "size", l.tree.n, "err", err)
			w.failed.Store(l.epoch) // reload before the next batch
		}
	}
}

var errEarlierFailed = errors.New("log: an earlier batch failed")

// stateEvery is the least time between two writes of the state file, which
// therefore trails the signed checkpoints by at most about this long (and
// is written at once on a clean stop).
const stateEvery = 50 * time.Millisecond

// saveState writes the latest checkpoint to the state file, if there is
// one and it is behind.
func (l *Log) saveState() {
	p := l.pub.Load()
	if l.stateFile == "" || l.stateSaved.Load() >= p.size {
		return
	}
	if err := writeStateFile(l.stateFile, p.note); err != nil {
		l.log.Error("log: cannot save the state file", "file", l.stateFile, "size", p.size, "err", err)
		return
	}
	l.stateSaved.Store(p.size)
}

// prepared is a batch for the writer: its requests, rows and the tree it
// makes. The writer signs its checkpoint.
type prepared struct {
	epoch  int64
	reqs   []*request
	bytes  int // the objects' total size
	leaves []store.LogLeaf
	hashes []store.LogHash
	prev   int64
	tree   *frontier
	at     time.Time
	view   map[int64]sumtlog.Hash
}

// prepare sorts out the requests of batch that need no new leaf (repeats,
// entries already in the log or in a batch being written, conflicts),
// answering those it can, and adds the rest to the open batch p, or to a
// new batch extending the sequencer's tree if p is nil. It returns the
// open batch, nil if there is none.
//
// An error means that the sequencer's tree is broken: the open batch was
// failed, and the tree must be reloaded.
func (l *Log) prepare(ctx context.Context, p *prepared, batch []*request) (*prepared, error) {
	// Requests for an id already in a batch being written, or earlier in
	// this one, follow that request: same content, same answer.
	var fresh []*request
	l.mu.Lock()
	for _, req := range batch {
		id := req.e.IdempotencyID
		f, ok := l.inflight[id]
		switch {
		case !ok:
			l.inflight[id] = req
			fresh = append(fresh, req)
		case sameContent(f.e, req.e):
			f.followers = append(f.followers, req)
		default:
			req.answer(result{err: conflictError(id)})
		}
	}
	l.mu.Unlock()

	// Entries already in the log: one query for those whose ids the
	// filter may hold, if any.
	var ids []string
	for _, req := range fresh {
		if l.ids.mayContain(req.e.IdempotencyID) {
			ids = append(ids, req.e.IdempotencyID)
		}
	}
	found, err := l.db.LogLeavesByIdempotencyID(ctx, ids)
	if err != nil {
		l.finish(fresh, result{err: err})
		return p, nil
	}
	if len(found) > 0 {
		existing := make(map[string]*store.LogLeaf, len(found))
		for i := range found {
			existing[found[i].IdempotencyID] = &found[i]
		}
		kept := fresh[:0]
		for _, req := range fresh {
			leaf, ok := existing[req.e.IdempotencyID]
			switch {
			case !ok:
				kept = append(kept, req)
			case leaf.Salt == nil:
				l.finish([]*request{req}, result{err: qorgau.Errorf(qorgau.ECONFLICT, "idempotency id %q names log entry %d, which was erased", req.e.IdempotencyID, leaf.Index)})
			case !bytes.Equal(leaf.Entry, recordFor(req.e, leaf.Salt)):
				l.finish([]*request{req}, result{err: conflictError(req.e.IdempotencyID)})
			default:
				l.finish([]*request{req}, result{existing: leaf.Index})
			}
		}
		fresh = kept
	}
	if len(fresh) == 0 {
		return p, nil
	}

	// Extend the open batch's copy of the tree, keeping every hash a
	// receipt of the batch needs (see frontier).
	if p == nil {
		p = &prepared{epoch: l.epoch, prev: l.tree.n, tree: l.tree.clone(), at: l.now()}
		p.view = make(map[int64]sumtlog.Hash, len(p.tree.h)+3*len(fresh))
		maps.Copy(p.view, p.tree.h)
		p.leaves = make([]store.LogLeaf, 0, len(fresh))
		p.hashes = make([]store.LogHash, 0, 2*len(fresh)+8)
	}
	for i, req := range fresh {
		n := p.tree.n
		hs, err := p.tree.append(req.leaf)
		if err != nil {
			// Only a broken tree fails here: drop the open batch and
			// have Run reload the tree.
			l.finish(fresh[i:], result{err: err})
			l.finish(p.reqs, result{err: err})
			return nil, err
		}
		id := sumtlog.StoredHashIndex(0, n)
		for k, h := range hs {
			p.view[id+int64(k)] = h
			p.hashes = append(p.hashes, store.LogHash{ID: id + int64(k), Hash: h})
		}
		obj := req.e.Object
		if obj == nil {
			obj = []byte{}
		}
		l.ids.add(req.e.IdempotencyID)
		p.leaves = append(p.leaves, store.LogLeaf{Index: n, Kind: req.e.Kind, Entry: req.record, IdempotencyID: req.e.IdempotencyID, Salt: req.salt, Object: obj})
		p.reqs = append(p.reqs, req)
		p.bytes += len(obj)
	}
	l.tree = p.tree
	return p, nil
}

// finish answers the given first requests for their ids, and every
// request following them, with res, and forgets their ids.
func (l *Log) finish(reqs []*request, res result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, req := range reqs {
		req.answer(res)
		for _, f := range req.followers {
			f.answer(res)
		}
		delete(l.inflight, req.e.IdempotencyID)
	}
}

// writer writes prepared batches in order.
type writer struct {
	l        *Log
	appender *store.LogAppender
	batches  chan *prepared
	// failed is the epoch of the last batch that failed; batches of that
	// epoch or an earlier one are failed without writing.
	failed    atomic.Int64
	written   atomic.Int64 // batches taken off batches
	processed chan struct{}
	saveState chan struct{}
	finished  chan struct{} // closed when run returns
}

// checkpointDelay is how long the writer keeps a signed checkpoint for
// the next batch to carry before it commits the checkpoint on its own.
// Nobody waits for that commit: the checkpoint is already published, and
// it is a function of committed data (see writer.run).
const checkpointDelay = 50 * time.Millisecond

// run writes the batches and signs their checkpoints: a checkpoint is
// signed only once the leaves and hashes it covers have committed, so the
// log never signs a root of data that might not exist, nor, after a failed
// commit, a second root for the same size. The signed checkpoint is
// published and given in the batch's receipts at once, and written with
// the next batch's leaves (one commit per batch under load), or on its own
// after checkpointDelay. Receipts need not wait for that write: the note
// is the origin, the size and the root of committed data, signed with
// Ed25519, which is deterministic, so if the process dies first, Open signs
// the very same bytes again (see verify).
func (w *writer) run() {
	defer close(w.finished)
	l := w.l
	ctx := context.Background()
	var pending *store.LogCheckpoint // signed and published, not yet stored
	timer := time.NewTimer(checkpointDelay)
	timer.Stop()
	writePending := func() {
		if err := w.appender.Append(ctx, pending.Size, pending.At, nil, nil, pending); err != nil {
			// Open or a reload signs it again.
			l.log.Error("log: cannot store checkpoint", "size", pending.Size, "err", err)
		}
		pending = nil
	}
	for {
		var p *prepared
		ok := true
		if pending == nil {
			p, ok = <-w.batches
		} else {
			select {
			case p, ok = <-w.batches:
			case <-timer.C:
				writePending()
				continue
			}
		}
		if !ok {
			if pending != nil {
				writePending()
			}
			return
		}
		timer.Stop()
		err := errEarlierFailed
		if p.epoch > w.failed.Load() {
			err = w.appender.Append(ctx, p.prev, p.at, p.leaves, p.hashes, pending)
			if err != nil {
				l.log.Error("log: batch failed", "size", p.prev, "entries", len(p.reqs), "err", err)
				// The commit may have happened after all, or another
				// writer may have moved the log: the sequencer reloads
				// the tree, and signs what the database holds.
				w.failed.Store(p.epoch)
			}
		}
		pending = nil // stored, or left to the reload after a failure
		var root sumtlog.Hash
		var cp []byte
		if err == nil {
			if root, err = p.tree.root(); err == nil {
				cp, err = l.sign(p.tree.n, root)
			}
			if err != nil {
				// Committed but not signed: the reload signs it.
				l.log.Error("log: cannot sign checkpoint", "size", p.tree.n, "err", err)
				w.failed.Store(p.epoch)
			}
		}
		if err != nil {
			l.finish(p.reqs, result{err: err})
		} else {
			pending = &store.LogCheckpoint{Size: p.tree.n, Root: root, Note: cp, At: l.now()}
			timer.Reset(checkpointDelay)
			l.pub.Store(&published{size: p.tree.n, root: root, note: cp})
			proofs := hashMap{m: p.view, fallback: l.hashReader(ctx)}
			res := result{proofs: proofs, size: p.tree.n, cp: cp}
			l.mu.Lock()
			for i, req := range p.reqs {
				res.existing, res.index, res.salt, res.record = -1, p.leaves[i].Index, req.salt, req.record
				req.answer(res)
				for _, f := range req.followers {
					f.answer(res)
				}
				delete(l.inflight, req.e.IdempotencyID)
			}
			l.mu.Unlock()
			select {
			case w.saveState <- struct{}{}:
			default:
			}
		}
		w.written.Add(1)
		select {
		case w.processed <- struct{}{}:
		default:
		}
	}
}

// wait returns once the writer has taken n batches.
func (w *writer) wait(n int64) {
	for w.written.Load() < n {
		<-w.processed
	}
}

// answer sends res to the request's Append, once.
func (req *request) answer(res result) {
	if req.answered {
		return
	}
	req.answered = true
	req.done <- res
}

// fail answers every request of batch not yet answered with err.
func fail(batch []*request, err error) {
	for _, req := range batch {
		req.answer(result{err: err})
	}
}

// reload resets the sequencer's tree to what the database holds,
// checking the stored hashes against the latest checkpoint's root. Leaves
// beyond that checkpoint (a batch whose checkpoint was not stored) get
// their checkpoint signed and stored now: their root is fixed by committed
// data.
func (l *Log) reload(ctx context.Context) error {
	cp, err := l.db.LatestLogCheckpoint(ctx)
	if err != nil {
		return err
	}
	size, _, err := l.db.LogSize(ctx, cp.Size)
	if err != nil {
		return err
	}
	f, root, err := l.frontierAt(ctx, cp.Size)
	if err != nil {
		return err
	}
	if root != cp.Root {
		return fmt.Errorf("stored hashes give root %s at size %d, the checkpoint says %s", root, cp.Size, sumtlog.Hash(cp.Root))
	}
	c, err := OpenCheckpoint(cp.Note, l.verifier)
	if err != nil {
		return err
	}
	if c.Size != cp.Size || c.Root != root {
		return fmt.Errorf("checkpoint row %d does not match its signed note", cp.Size)
	}
	note := cp.Note
	if size > cp.Size {
		if f, root, err = l.frontierAt(ctx, size); err != nil {
			return err
		}
		if note, err = l.storeCheckpoint(ctx, size, root); err != nil {
			return err
		}
	}
	// Ids written since the filter was last brought up to date: ours
	// are in it already, but another writer's (see TestSecondSequencer)
	// are not.
	err = l.db.ScanLogIdempotencyIDs(ctx, l.idsFrom, func(id string) error { l.ids.add(id); return nil })
	if err != nil {
		return err
	}
	l.tree, l.idsFrom = f, size
	l.pub.Store(&published{size: size, root: root, note: note})
	return nil
}

// frontierAt returns the tree of size n from the stored hashes, and its
// root.
func (l *Log) frontierAt(ctx context.Context, n int64) (*frontier, sumtlog.Hash, error) {
	ids := frontierIDs(n)
	hs, err := l.db.LogHashes(ctx, ids)
	if err != nil {
		return nil, sumtlog.Hash{}, err
	}
	f := newFrontier()
	f.n = n
	for i, id := range ids {
		f.h[id] = hs[i]
	}
	root, err := f.root()
	return f, root, err
}

// storeCheckpoint signs the checkpoint of the committed tree of size n
// with root and stores it on its own, returning the signed note. If the
// database already has that checkpoint (another sequencer stored it), that
// is fine as long as it is the same note.
func (l *Log) storeCheckpoint(ctx context.Context, n int64, root sumtlog.Hash) ([]byte, error) {
	note, err := l.sign(n, root)
	if err != nil {
		return nil, err
	}
	err = l.db.AppendLogBatch(ctx, n, l.now(), nil, nil, &store.LogCheckpoint{Size: n, Root: root, Note: note, At: l.now()})
	if qorgau.ErrorCode(err) == qorgau.ECONFLICT {
		if cp, lerr := l.db.LatestLogCheckpoint(ctx); lerr == nil && cp.Size == n && bytes.Equal(cp.Note, note) {
			return note, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store checkpoint %d: %w", n, err)
	}
	return note, nil
}

func conflictError(id string) error {
	return qorgau.Errorf(qorgau.ECONFLICT, "idempotency id %q is already used for a different entry", id)
}

func sameContent(a, b Entry) bool {
	return a.Kind == b.Kind && maps.Equal(a.Meta, b.Meta) && bytes.Equal(a.Object, b.Object)
}

// recordFor returns the record e would have under salt.
func recordFor(e Entry, salt []byte) []byte {
	r := Record{Kind: e.Kind, Commitment: Commit(salt, e.Object), Meta: e.Meta}
	return r.appendText(nil)
}
