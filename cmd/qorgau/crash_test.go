package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/tlog"
)

// server is a `qorgau serve` process that a test can kill and restart on
// the same address and data.
type server struct {
	t    *testing.T
	addr string
	args []string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{} // closed when cmd has exited
}

func startServe(t *testing.T, dir string, extra ...string) *server {
	s := &server{t: t, addr: freeAddr(t), args: append([]string{"serve", "-data", dir, "-log-origin", "qorgau.test/log"}, extra...)}
	s.start()
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *server) base() string { return "http://" + s.addr }

func (s *server) start() {
	s.t.Helper()
	s.logs = &bytes.Buffer{}
	s.cmd = exec.Command(bin, append(s.args, "-addr", s.addr)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	go func() { s.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-done:
			s.t.Fatalf("serve exited on start:\n%s", s.logs)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("serve did not become ready:\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown, no flush.
func (s *server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// TestCrash appends complaints from several terminals at once while the
// server is killed with SIGKILL at random moments, 20 times, and restarted.
// Afterwards every receipt ever returned must still prove inclusion against
// its own checkpoint, every checkpoint ever returned must be consistent with
// the final one, and no idempotency id may have two leaves.
func TestCrash(t *testing.T) {
	const (
		terminals = 4
		workers   = 6 // per terminal
		kills     = 20
	)
	w := newWorld(t, terminals)
	srv := startServe(t, w.dir)
	ctx := context.Background()

	var kts []*kioskTerminal
	for i := 1; i <= terminals; i++ {
		kts = append(kts, w.enroll(t, srv.base(), fmt.Sprintf("T-%d", i)))
	}
	// One receipt code and reply key for all: Argon2id per envelope would
	// make preparing them the slow part of the test.
	code, reply := kts[0].newCode(t)

	type outcome struct {
		idem    string
		index   int64
		receipt []byte
	}
	var (
		mu       sync.Mutex
		receipts []outcome
		byIdem   = map[string]int64{}
		failures []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq int
	for _, kt := range kts {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					idem := fmt.Sprintf("crash-%d", seq)
					mu.Unlock()
					p := kt.seal(t, "Меня избили в отряде "+idem, qorgau.CategoryMedical, []string{"PROS-KZ-35"}, code, reply, idem)
					// Retry until the server answers, as the outbox does.
					for {
						res, err := kt.Submit(ctx, p.envelope, p.routing)
						if err == nil {
							rb, _ := base64.StdEncoding.DecodeString(res.Receipt)
							mu.Lock()
							if prev, ok := byIdem[idem]; ok && prev != res.Complaint {
								failures = append(failures, fmt.Sprintf("%s got index %d, then %d", idem, prev, res.Complaint))
							}
							byIdem[idem] = res.Complaint
							receipts = append(receipts, outcome{idem, res.Complaint, rb})
							mu.Unlock()
							break
						}
						var ae *kiosk.APIError
						if errors.As(err, &ae) && !ae.Temporary() {
							mu.Lock()
							failures = append(failures, fmt.Sprintf("%s refused: %v", idem, err))
							mu.Unlock()
							return
						}
						select {
						case <-stop:
							// The last attempt may have been committed unanswered:
							// resend once the server is back, below.
							mu.Lock()
							if _, ok := byIdem[idem]; !ok {
								pending = append(pending, pendingSub{kt, p})
							}
							mu.Unlock()
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}
			}()
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < kills; i++ {
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		srv.kill()
		time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
		srv.start()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Submissions cut off by the stop: send them again; each must land
	// exactly once.
	for _, ps := range pending {
		res, err := ps.kt.Submit(ctx, ps.p.envelope, ps.p.routing)
		if err != nil {
			t.Fatalf("resending %s: %v", ps.p.idem, err)
		}
		byIdem[ps.p.idem] = res.Complaint
		rb, _ := base64.StdEncoding.DecodeString(res.Receipt)
		receipts = append(receipts, outcome{ps.p.idem, res.Complaint, rb})
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d kills, %d receipts for %d complaints", kills, len(receipts), len(byIdem))
	if len(byIdem) < 100 {
		t.Errorf("only %d complaints were accepted: the load was too light to mean anything", len(byIdem))
	}

	// Check every receipt against the final log, from outside.
	v := &verifier{base: srv.base() + "/log", client: http.DefaultClient, out: &bytes.Buffer{}}
	vkeyB, err := v.get(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	logV, err := note.NewVerifier(strings.TrimSpace(string(vkeyB)))
	if err != nil {
		t.Fatal(err)
	}
	cpRaw, err := v.get(ctx, "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(cpRaw, logV)
	if err != nil {
		t.Fatal(err)
	}
	tree := sumtlog.Tree{N: cp.Size, Hash: cp.Root}
	hashes := sumtlog.TileHashReader(tree, &tileReader{v: v, ctx: ctx})
	checked := map[int64]bool{}
	for _, o := range receipts {
		r, err := tlog.ParseReceipt(o.receipt)
		if err != nil {
			t.Fatalf("receipt of %s: %v", o.idem, err)
		}
		rcp, err := tlog.OpenCheckpoint(r.Checkpoint, logV)
		if err != nil {
			t.Fatalf("receipt of %s: checkpoint: %v", o.idem, err)
		}
		if err := sumtlog.CheckRecord(r.Proof, rcp.Size, rcp.Root, r.Index, sumtlog.RecordHash(r.Record)); err != nil {
			t.Errorf("receipt of %s (index %d) does not prove inclusion: %v", o.idem, r.Index, err)
		}
		if err := v.consistent(rcp.Size, rcp.Root, tree, hashes); err != nil {
			t.Errorf("checkpoint %d of the receipt of %s is not consistent with the final one (%d): %v", rcp.Size, o.idem, cp.Size, err)
		}
		if !checked[r.Index] {
			checked[r.Index] = true
			entry, err := v.entry(ctx, r.Index, cp.Size)
			if err != nil || !bytes.Equal(entry, r.Record) {
				t.Errorf("the log's entry %d is not the receipt's record (%v)", r.Index, err)
			}
		}
	}

	// No idempotency id has two leaves: the log holds exactly one complaint
	// leaf per id. A kill can cut off deliveries to the inboxes after the
	// log committed; the next start delivers them.
	srv.kill()
	srv.start()
	srv.kill()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var leaves, distinct int
	db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT idem) FROM log_leaves WHERE kind = 'complaint'`).Scan(&leaves, &distinct)
	if leaves != len(byIdem) || distinct != leaves {
		t.Errorf("the log has %d complaint leaves (%d distinct ids) for %d submitted ids", leaves, distinct, len(byIdem))
	}
	var rows int
	db.QueryRow(`SELECT COUNT(*) FROM complaints`).Scan(&rows)
	if rows != leaves {
		t.Errorf("%d complaints delivered for %d leaves", rows, leaves)
	}
}

type pendingSub struct {
	kt *kioskTerminal
	p  prepared
}

var pending []pendingSub
