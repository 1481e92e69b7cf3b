package kiosk

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"qorgau.kz/qorgau"
)

// appendN appends n heartbeat entries and fails the test on an error.
func appendN(t *testing.T, j *Journal, n int) {
	t.Helper()
	for range n {
		if _, err := j.Append(qorgau.JournalHeartbeat, "sent failed_before=0 outbox=0"); err != nil {
			t.Fatal(err)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestJournalRotation drops the entries the server acknowledged once the
// file reaches its cap, and the rest still chain to them: through a
// reopening, onto new entries, and for the server, which holds the
// dropped ones.
func TestJournalRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := OpenJournal(path, "boot-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 10)
	j.Cap = fileSize(t, path) * 4 // room for 40 entries
	server, _ := j.After(0, 100)  // what an upload gives the server
	if err := j.Acknowledge(10); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.After(0, 100); len(got) != 10 {
		t.Fatalf("below the cap, After(0) = %d entries, want all 10 kept", len(got))
	}
	appendN(t, j, 20)
	more, _ := j.After(10, 100)
	server = append(server, more...)
	if err := j.Acknowledge(25); err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 30) // past the cap: 1–25 go
	if size := fileSize(t, path); size >= j.Cap {
		t.Errorf("file is %d bytes after rotation, cap %d", size, j.Cap)
	}
	if _, err := j.After(10, 100); err == nil {
		t.Error("After(10) returned dropped entries")
	}
	j.Close()

	j, err = OpenJournal(path, "boot-2", nil)
	if err != nil {
		t.Fatalf("reopening a rotated journal: %v", err)
	}
	defer j.Close()
	if j.Last().Seq != 60 {
		t.Fatalf("last = %d after reopening, want 60", j.Last().Seq)
	}
	e, err := j.Append(qorgau.JournalBoot, "")
	if err != nil || e.Seq != 61 {
		t.Fatalf("append after reopening = %+v, %v", e, err)
	}
	rest, err := j.After(25, 100)
	if err != nil || len(rest) != 36 || rest[0].Seq != 26 {
		t.Fatalf("After(25) = %d entries from %v, %v; want 26–61", len(rest), rest, err)
	}
	// The server verifies what it gets against the entry it holds.
	if err := qorgau.CheckJournal(server[24].Seq, server[24].Hash, rest); err != nil {
		t.Errorf("the kept entries do not chain to the server's entry 25: %v", err)
	}
	if _, err := j.After(20, 100); err == nil {
		t.Error("After(20) of a journal anchored at 25 succeeded")
	}
}

// TestJournalCapKeepsUnacknowledged fills the journal past its cap with
// entries the server never acknowledged: every one is kept, and the
// journal says, once, that it is over the cap.
func TestJournalCapKeepsUnacknowledged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := OpenJournal(path, "boot-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.Cap = 2 << 10
	appendN(t, j, 60)
	all, err := j.After(0, 1000)
	if err != nil || int64(len(all)) != j.Last().Seq {
		t.Fatalf("After(0) = %d entries, %v; want all %d", len(all), err, j.Last().Seq)
	}
	if err := qorgau.CheckJournal(0, qorgau.JournalGenesis, all); err != nil {
		t.Fatal(err)
	}
	count := func(list []qorgau.JournalEntry) (n int, first qorgau.JournalEntry) {
		for _, e := range list {
			if e.Kind == qorgau.JournalFull {
				if n == 0 {
					first = e
				}
				n++
			}
		}
		return n, first
	}
	n, full := count(all)
	if n != 1 || !strings.Contains(full.Detail, "cap=2048") || !strings.Contains(full.Detail, "unacknowledged=") {
		t.Fatalf("%d journal_full entries (%+v), want one naming the cap", n, full)
	}
	// The server catches up: the file shrinks, and crossing the cap again
	// is said again.
	if err := j.Acknowledge(j.Last().Seq); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(t, path); size >= j.Cap {
		t.Errorf("file is %d bytes after the acknowledgement, cap %d", size, j.Cap)
	}
	last := j.Last().Seq
	appendN(t, j, 60)
	after, _ := j.After(last, 1000)
	if n, _ := count(after); n != 1 {
		t.Errorf("%d journal_full entries after crossing the cap again, want 1", n)
	}
}

// TestJournalKilled kills a process that appends, acknowledges and
// rotates a journal with SIGKILL at random moments, again and again: the
// journal always opens, its entries chain to its anchor, and every entry
// the process reported written is there or was acknowledged before.
func TestJournalKilled(t *testing.T) {
	if path := os.Getenv("QORGAU_JOURNAL_CHILD"); path != "" {
		journalChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	var wrote, acked, anchored int64
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJournalKilled$")
		cmd.Env = append(os.Environ(), "QORGAU_JOURNAL_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The kill comes at a random moment once the child has started
		// writing (a slow start, as under the race detector, would
		// otherwise take all the time).
		killed := make(chan struct{})
		var once sync.Once
		kill := func() {
			go func() {
				time.Sleep(time.Duration(10+rand.IntN(100)) * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				close(killed)
			}()
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			once.Do(kill)
			// "w N": entry N is on disk; "a N": N was acknowledged.
			kind, v, _ := strings.Cut(sc.Text(), " ")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch kind {
			case "w":
				wrote = max(wrote, n)
			case "a":
				acked = max(acked, n)
			}
		}
		once.Do(kill) // it died before writing anything
		<-killed
		cmd.Wait()

		j, err := OpenJournal(path, "check", nil)
		if err != nil {
			t.Fatalf("round %d: the journal does not open after SIGKILL: %v", round, err)
		}
		if j.Last().Seq < wrote {
			t.Fatalf("round %d: last entry %d, but %d was reported written", round, j.Last().Seq, wrote)
		}
		if j.anchor.Seq > acked {
			t.Fatalf("round %d: anchored at %d, but only %d was acknowledged", round, j.anchor.Seq, acked)
		}
		rest, err := j.After(j.anchor.Seq, 1<<20)
		if err != nil || int64(len(rest)) != j.Last().Seq-j.anchor.Seq {
			t.Fatalf("round %d: After(anchor %d) = %d entries, %v; want up to %d", round, j.anchor.Seq, len(rest), err, j.Last().Seq)
		}
		if err := qorgau.CheckJournal(j.anchor.Seq, j.anchor.Hash, rest); err != nil {
			t.Fatalf("round %d: the kept entries do not chain to the anchor: %v", round, err)
		}
		anchored = j.anchor.Seq
		j.Close()
	}
	t.Logf("%d rounds: %d entries written, %d acknowledged, the file starts after %d", rounds, wrote, acked, anchored)
	if anchored == 0 {
		t.Error("the journal was never rotated")
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tmp-*")); len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// journalChild appends to the journal at path with a small cap and
// acknowledges all but the last few entries now and then, reporting each
// step on stdout, until it is killed.
func journalChild(path string) {
	j, err := OpenJournal(path, fmt.Sprint("child-", os.Getpid()), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	j.Cap = 2 << 10 // some 7 entries: nearly every acknowledgement rotates
	for i := 0; ; i++ {
		e, err := j.Append(qorgau.JournalHeartbeat, "sent failed_before=0 outbox=0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("w %d\n", e.Seq)
		if i%3 == 2 && e.Seq > 5 {
			// Said before it is done: the server acknowledges first.
			fmt.Printf("a %d\n", e.Seq-5)
			if err := j.Acknowledge(e.Seq - 5); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	}
}
