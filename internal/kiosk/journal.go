package kiosk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"qorgau.kz/qorgau"
)

// Journal is the terminal's hash-chained local journal: one JSON entry a
// line, each synced to disk before Append returns, each chained to the one
// before by its hash (qorgau.JournalEntry.ComputeHash), so that the server
// that receives it can tell a gap or an edit. It never holds complaint
// content.
type Journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	boot string
	last qorgau.JournalEntry // Seq 0 and Hash genesis when empty
	now  func() time.Time
}

// OpenJournal opens or creates the journal at path; boot is the id of this
// run of the agent. A line torn by a power loss at the end is cut off; an
// entry that breaks the chain anywhere else is an error, as it means the
// file was edited.
func OpenJournal(path, boot string, now func() time.Time) (*Journal, error) {
	if now == nil {
		now = time.Now
	}
	j := &Journal{path: path, boot: boot, now: now, last: qorgau.JournalEntry{Hash: qorgau.JournalGenesis}}
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	good := 0 // bytes of whole, chained entries
	for good < len(b) {
		line, _, complete := bytes.Cut(b[good:], []byte("\n"))
		var e qorgau.JournalEntry
		err := json.Unmarshal(line, &e)
		if err == nil {
			err = qorgau.CheckJournal(j.last.Seq, j.last.Hash, []qorgau.JournalEntry{e})
		}
		if err == nil && complete {
			j.last = e
			good += len(line) + 1
			continue
		}
		// Only the last line may be bad: a write torn by a power loss.
		// Anywhere else, the file was damaged or edited.
		if rest := b[good+len(line):]; len(bytes.TrimSpace(rest)) > 0 {
			return nil, fmt.Errorf("journal %s: the entry after %d is damaged: %v", path, j.last.Seq, err)
		}
		break
	}
	if good < len(b) {
		if err := os.Truncate(path, int64(good)); err != nil {
			return nil, err
		}
	}
	j.f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if b == nil {
		// A new file: make its name durable before entries rely on it.
		if err := syncDir(filepath.Dir(path)); err != nil {
			j.f.Close()
			return nil, err
		}
	}
	return j, nil
}

// Append adds an entry of kind with detail (never complaint content) and
// syncs it to disk.
func (j *Journal) Append(kind qorgau.JournalKind, detail string) (qorgau.JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e := qorgau.JournalEntry{Seq: j.last.Seq + 1, Time: j.now().UTC().Round(0), Boot: j.boot, Kind: kind, Detail: detail, Prev: j.last.Hash}
	e.Hash = e.ComputeHash()
	b, err := json.Marshal(&e)
	if err != nil {
		return e, err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return e, err
	}
	if err := j.f.Sync(); err != nil {
		return e, err
	}
	j.last = e
	return e, nil
}

// Last returns the newest entry (Seq 0 if there is none).
func (j *Journal) Last() qorgau.JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// After returns up to max entries that follow entry seq, in order.
func (j *Journal) After(seq int64, max int) ([]qorgau.JournalEntry, error) {
	j.mu.Lock()
	last := j.last.Seq
	j.mu.Unlock()
	if seq >= last {
		return nil, nil
	}
	f, err := os.Open(j.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []qorgau.JournalEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < max {
		var e qorgau.JournalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("journal %s: %w", j.path, err)
		}
		if e.Seq > seq && e.Seq <= last {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }
