package tlog

import (
	"context"
	"fmt"
	"time"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Several servers on one PostgreSQL database share one log. Exactly one
// runs the sequencer: the one holding the database's log lock (see
// store.LogLock), a session-level advisory lock on a connection of its
// own, so that PostgreSQL itself frees it when the holder's connection
// goes away. The others are standbys: they serve the log read-only from
// the latest checkpoint committed in the database, which they check
// (signature, and consistency with what they served before) every
// interval; they refuse appends with an EUNAVAILABLE error, which the
// terminal API answers with 503 and Retry-After; and they keep trying to
// take the lock. The one that gets it verifies the whole log from storage,
// as Open does, signs the checkpoint its predecessor may have left
// unstored, and runs the sequencer.

// errStandby is Append's answer on a standby.
var errStandby = qorgau.Errorf(qorgau.EUNAVAILABLE, "this server is a standby of the complaint log; another one appends: try again shortly")

// Lead runs the log as one of several servers on a database (open it
// with Config.Standby): a standby until it takes the log lock, then the sequencer (Run) until ctx ends. It
// checks the lock every interval; if the lock is lost (its connection
// broke), it stops the sequencer and returns an error: the process must
// not go on as if it were the sequencer, and should exit and start again
// as a standby. It returns nil when ctx ends. Once it returns the log is
// a standby again (IsStandby), so that what runs only on the sequencer
// stops at once rather than when the process exits.
func (l *Log) Lead(ctx context.Context, interval time.Duration) error {
	l.standby.Store(true)
	defer l.standby.Store(true)
	var lock *store.LogLock
	for {
		var ok bool
		var err error
		lock, ok, err = l.db.TryLogLock(ctx)
		if err != nil {
			l.log.Warn("log: cannot try the sequencer lock", "err", err)
		}
		if ok {
			break
		}
		if err := l.follow(ctx); err != nil {
			l.log.Error("log: standby cannot follow the log", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
	defer lock.Release()
	// The previous sequencer may have appended since this server
	// verified the log: verify it all again before extending it.
	if err := l.verify(ctx, true); err != nil {
		return err
	}
	l.log.Info("log: this server is now the sequencer", "size", l.Size())
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan error, 1)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			if err := lock.Check(runCtx); err != nil && runCtx.Err() == nil {
				lost <- err
				cancel()
				return
			}
		}
	}()
	l.standby.Store(false)
	err := l.Run(runCtx)
	select {
	case lerr := <-lost:
		return fmt.Errorf("log: lost the sequencer lock, stopped appending: %w", lerr)
	default:
	}
	return err
}

// IsStandby reports whether the log is a standby: another server runs the
// sequencer, and Append fails with EUNAVAILABLE. It is true from Open
// with Config.Standby until Lead takes the lock, and again from when Lead
// returns; false throughout for a log opened without Config.Standby.
// Loops that must run on one server only (the fleet watch's sweeps) ask
// it before each round.
func (l *Log) IsStandby() bool { return l.standby.Load() }

// follow publishes the latest checkpoint committed in the database if it
// is newer than the published one, after checking its signature and that
// it extends the published tree.
func (l *Log) follow(ctx context.Context) error {
	cp, err := l.db.LatestLogCheckpoint(ctx)
	if err != nil {
		return err
	}
	p := l.pub.Load()
	if cp.Size <= p.size {
		return nil
	}
	c, err := OpenCheckpoint(cp.Note, l.verifier)
	if err != nil {
		return fmt.Errorf("checkpoint %d: %w", cp.Size, err)
	}
	if c.Size != cp.Size || c.Root != cp.Root {
		return fmt.Errorf("checkpoint row %d does not match its signed note", cp.Size)
	}
	if p.size > 0 {
		proof, err := sumtlog.ProveTree(c.Size, p.size, l.hashReader(ctx))
		if err != nil {
			return fmt.Errorf("prove consistency %d → %d: %w", p.size, c.Size, err)
		}
		if err := sumtlog.CheckTree(proof, c.Size, c.Root, p.size, p.root); err != nil {
			return fmt.Errorf("checkpoint %d is not consistent with the published %d: %w", c.Size, p.size, err)
		}
	}
	l.pub.Store(&published{size: c.Size, root: c.Root, note: cp.Note})
	return nil
}
