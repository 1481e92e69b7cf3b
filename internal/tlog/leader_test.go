package tlog

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
)

// leading is a log run with Lead until the test ends.
type leading struct {
	*Log
	cancel context.CancelFunc
	done   chan error
}

func lead(t *testing.T, db *store.DB, cfg Config) *leading {
	t.Helper()
	l, err := Open(context.Background(), db, cfg)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &leading{Log: l, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- l.Lead(ctx, 50*time.Millisecond) }()
	t.Cleanup(cancel)
	return r
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
	}
}

func TestLeaderElection(t *testing.T) {
	// Two servers on one PostgreSQL database, each with its own
	// connections: one sequences, the other follows and refuses appends.
	// When the leader's lock connection goes away, as when its process
	// dies, it stops appending and the standby takes over; every receipt
	// stays provable and every checkpoint consistent.
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	cfg := testConfig(t)
	db1, db2 := openDB(t, url), openDB(t, url)
	cfg.Standby = true
	l1 := lead(t, db1, cfg)
	eventually(t, "the first server leads", func() bool { return !l1.IsStandby() })
	l2 := lead(t, db2, cfg)
	time.Sleep(200 * time.Millisecond) // a few tries at the lock
	if !l2.IsStandby() {
		rows, _ := rawDB(t, url).Query(`SELECT pid, classid, objid, objsubid, granted FROM pg_locks WHERE locktype = 'advisory'`)
		for rows.Next() {
			var a, b, c, d any
			var g bool
			rows.Scan(&a, &b, &c, &d, &g)
			t.Log(a, b, c, d, g)
		}
		t.Fatal("the second server leads too")
	}

	var receipts []*Receipt
	for i := range 20 {
		r, err := l1.Append(ctx, entry(i))
		if err != nil {
			t.Fatalf("Append(%d) on the leader = %v", i, err)
		}
		receipts = append(receipts, r)
	}
	if _, err := l2.Append(ctx, entry(100)); qorgau.ErrorCode(err) != qorgau.EUNAVAILABLE {
		t.Fatalf("Append on the standby = %v, want EUNAVAILABLE", err)
	}
	// The standby serves what the leader committed.
	eventually(t, "the standby follows to size 20", func() bool { return l2.Size() == 20 })
	if r, err := l2.Receipt(ctx, 7); err != nil || r.Verify(entry(7).Object, l2.Verifier()) != nil {
		t.Fatalf("Receipt(7) on the standby = %v", err)
	}

	// The leader's lock connection goes away.
	raw := rawDB(t, url)
	var killed int
	if err := raw.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the lock holder: %d killed, %v", killed, err)
	}
	select {
	case err := <-l1.done:
		if err == nil || !strings.Contains(err.Error(), "lost the sequencer lock") {
			t.Fatalf("the old leader's Lead = %v, want the lost-lock error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the old leader kept running after losing its lock")
	}
	// It is a standby again, so that what runs on the sequencer only
	// (the fleet watch's sweeps) stops with it.
	if !l1.IsStandby() {
		t.Error("the old leader does not say it is a standby after losing the lock")
	}
	if _, err := l1.Append(ctx, entry(100)); qorgau.ErrorCode(err) != qorgau.EUNAVAILABLE {
		t.Fatalf("Append on the old leader = %v, want EUNAVAILABLE", err)
	}
	eventually(t, "the standby takes over", func() bool { return !l2.IsStandby() })
	for i := 20; i < 40; i++ {
		r, err := l2.Append(ctx, entry(i))
		if err != nil {
			t.Fatalf("Append(%d) on the new leader = %v", i, err)
		}
		receipts = append(receipts, r)
	}
	if l2.Size() != 40 {
		t.Fatalf("size after the takeover = %d, want 40", l2.Size())
	}

	// Every receipt verifies, and its checkpoint is consistent with the
	// new leader's.
	latest, err := OpenCheckpoint(l2.Checkpoint(), l2.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range receipts {
		if err := r.Verify(entry(i).Object, l2.Verifier()); err != nil {
			t.Errorf("receipt %d: %v", i, err)
		}
		c, err := OpenCheckpoint(r.Checkpoint, l2.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		p, err := l2.ConsistencyProof(ctx, c.Size, latest.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := sumtlog.CheckTree(p, latest.Size, latest.Root, c.Size, c.Root); err != nil {
			t.Errorf("receipt %d's checkpoint %d is not consistent with %d: %v", i, c.Size, latest.Size, err)
		}
	}
	l2.cancel()
	if err := <-l2.done; err != nil {
		t.Fatalf("the new leader's Lead = %v", err)
	}
	cfg.Standby = false
	if l, err := Open(ctx, openDB(t, url), cfg); err != nil || l.Size() != 40 {
		t.Fatalf("Open after the takeover = %v", err)
	}
}

// TestStandbyStartsUnderLoad opens standbys again and again while the
// leader appends from many goroutines: a standby must start whatever the
// leader is in the middle of (leaves committed whose checkpoint is not
// stored yet, batches committed while it reads), and must not store a
// checkpoint of its own, which would make the leader's next batch fail.
func TestStandbyStartsUnderLoad(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	cfg := testConfig(t)
	cfg.Standby = true
	l1 := lead(t, openDB(t, url), cfg)
	eventually(t, "the first server leads", func() bool { return !l1.IsStandby() })

	stop := make(chan struct{})
	errs := make(chan error, 64)
	var appended atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := l1.Append(ctx, entry(g*1_000_000+i)); err != nil {
					errs <- err
					return
				}
				appended.Add(1)
			}
		})
	}
	for i := range 8 {
		time.Sleep(100 * time.Millisecond)
		l, err := Open(ctx, openDB(t, url), cfg)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("standby %d: Open while the leader appends = %v", i, err)
		}
		if !l.IsStandby() || l.Size() == 0 {
			t.Errorf("standby %d: standby %v, size %d", i, l.IsStandby(), l.Size())
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("the leader's Append while standbys started = %v", err)
	}
	if appended.Load() < 100 {
		t.Errorf("only %d appends in 0.8 s: the test did not load the leader", appended.Load())
	}
}
