package kiosk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"qorgau.kz/qorgau"
)

// DefaultJournalCap is the size a journal may reach before the entries the
// server holds are dropped from it: some five thousand entries.
const DefaultJournalCap = 1 << 20

// Journal is the terminal's hash-chained local journal: one JSON entry a
// line, each synced to disk before Append returns, each chained to the one
// before by its hash (qorgau.JournalEntry.ComputeHash), so that the server
// that receives it can tell a gap or an edit. It never holds complaint
// content.
//
// The journal is rotated: once the server acknowledges entries
// (Acknowledge) and the file has reached Cap bytes, the acknowledged
// entries are dropped, and the file starts with an anchor line,
// {"anchor":{"seq":N,"hash":"…"}}, naming the last dropped entry, to
// which the next one chains. Entries the server does not hold are never
// dropped: when they alone fill the cap the journal keeps growing and
// records a qorgau.JournalFull entry, once each time it crosses the cap.
type Journal struct {
	// Cap is the size in bytes at which acknowledged entries are dropped;
	// 0 means DefaultJournalCap. Set it before the first Append.
	Cap int64

	mu     sync.Mutex
	path   string
	f      *os.File
	boot   string
	last   qorgau.JournalEntry // Seq 0 and Hash genesis when empty
	anchor journalAnchor       // the last dropped entry; Seq 0 and genesis if none
	acked  int64               // highest entry the server holds, as far as known
	size   int64               // bytes in the file
	full   bool                // over the cap with unacknowledged entries; recorded
	now    func() time.Time
}

// journalAnchor names the last entry dropped from the journal's file.
type journalAnchor = qorgau.JournalLink

// journalLine is a line of the file: an entry, or the first line's anchor.
type journalLine struct {
	Anchor *journalAnchor `json:"anchor,omitempty"`
	qorgau.JournalEntry
}

// ErrJournalDropped is what After returns for entries the journal dropped
// after the server acknowledged them.
var ErrJournalDropped = errors.New("journal: the entries asked for were dropped after the server acknowledged them")

// OpenJournal opens or creates the journal at path; boot is the id of this
// run of the agent. A line torn by a power loss at the end is cut off; an
// entry that breaks the chain anywhere else is an error, as it means the
// file was edited.
func OpenJournal(path, boot string, now func() time.Time) (*Journal, error) {
	if now == nil {
		now = time.Now
	}
	j := &Journal{path: path, boot: boot, now: now, last: qorgau.JournalEntry{Hash: qorgau.JournalGenesis},
		anchor: journalAnchor{Hash: qorgau.JournalGenesis}}
	// A rotation a crash cut short left its new file under a temporary
	// name; the journal itself was never replaced.
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*"))
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	good := 0 // bytes of whole, chained entries
	for good < len(b) {
		line, _, complete := bytes.Cut(b[good:], []byte("\n"))
		var l journalLine
		err := json.Unmarshal(line, &l)
		if err == nil && l.Anchor != nil {
			if good > 0 || !complete || l.Anchor.Seq < 0 || len(l.Anchor.Hash) != 64 {
				err = fmt.Errorf("an anchor that is not the whole first line")
			} else {
				j.anchor, j.acked = *l.Anchor, l.Anchor.Seq
				j.last = qorgau.JournalEntry{Seq: l.Anchor.Seq, Hash: l.Anchor.Hash}
				good += len(line) + 1
				continue
			}
		}
		if err == nil {
			err = qorgau.CheckJournal(j.last.Seq, j.last.Hash, []qorgau.JournalEntry{l.JournalEntry})
		}
		if err == nil && complete {
			j.last = l.JournalEntry
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
	j.size = int64(good)
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
	e, err := j.append(kind, detail)
	if err != nil {
		return e, err
	}
	if err := j.fit(); err != nil {
		return e, err
	}
	return e, nil
}

func (j *Journal) append(kind qorgau.JournalKind, detail string) (qorgau.JournalEntry, error) {
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
	j.size += int64(len(b) + 1)
	return e, nil
}

// Acknowledge records that the server holds the entries up to seq (the
// journal_seq of its answers), which may then be dropped from the file. A
// seq beyond the last entry is taken as the last: what the server claims
// beyond it is not this journal's.
func (j *Journal) Acknowledge(seq int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if seq > j.last.Seq {
		seq = j.last.Seq
	}
	if seq > j.acked {
		j.acked = seq
	}
	return j.fit()
}

// fit keeps the file within the cap: past it, the acknowledged entries are
// dropped; if what is left still reaches the cap, a JournalFull entry
// says so, once until the file fits again.
func (j *Journal) fit() error {
	limit := j.Cap
	if limit <= 0 {
		limit = DefaultJournalCap
	}
	if j.size < limit {
		j.full = false
		return nil
	}
	if j.acked > j.anchor.Seq {
		if err := j.rotate(); err != nil {
			return fmt.Errorf("journal %s: rotate: %w", j.path, err)
		}
		if j.size < limit {
			j.full = false
			return nil
		}
	}
	if j.full {
		return nil
	}
	j.full = true
	_, err := j.append(qorgau.JournalFull, fmt.Sprintf("bytes=%d cap=%d unacknowledged=%d", j.size, limit, j.last.Seq-j.acked))
	return err
}

// rotate replaces the file with one that starts with an anchor at the last
// acknowledged entry and holds the entries after it. The new file is
// written and synced under a temporary name and renamed over the old, and
// the folder is synced: killed at any moment, the journal is the old file
// or the new one, both whole chains.
func (j *Journal) rotate() error {
	f, err := os.Open(j.path)
	if err != nil {
		return err
	}
	defer f.Close()
	anchor := j.anchor
	var buf bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		switch {
		case l.Anchor != nil:
		case l.Seq <= j.acked:
			anchor = journalAnchor{Seq: l.Seq, Hash: l.Hash}
		default:
			buf.Write(sc.Bytes())
			buf.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if anchor.Seq != j.acked {
		return fmt.Errorf("entry %d is not in the file", j.acked)
	}
	head, err := json.Marshal(map[string]journalAnchor{"anchor": anchor})
	if err != nil {
		return err
	}
	data := append(append(head, '\n'), buf.Bytes()...)
	if err := writeAtomic(filepath.Dir(j.path), filepath.Base(j.path), data, 0o600); err != nil {
		return err
	}
	nf, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	j.f.Close()
	j.f, j.anchor, j.size = nf, anchor, int64(len(data))
	return nil
}

// Last returns the newest entry (Seq 0 if there is none). After a
// rotation that dropped every entry, only its Seq and Hash are set.
func (j *Journal) Last() qorgau.JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// Anchor returns the last entry dropped from the file, to which the first
// entry kept chains: Seq 0 and the genesis hash if none was dropped.
func (j *Journal) Anchor() qorgau.JournalLink {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.anchor
}

// After returns up to max entries that follow entry seq, in order. Entries
// the journal dropped are ErrJournalDropped.
func (j *Journal) After(seq int64, max int) ([]qorgau.JournalEntry, error) {
	j.mu.Lock()
	last, first := j.last.Seq, j.anchor.Seq
	j.mu.Unlock()
	if seq >= last {
		return nil, nil
	}
	if seq < first {
		return nil, fmt.Errorf("%w: after %d, the file starts after %d", ErrJournalDropped, seq, first)
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
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("journal %s: %w", j.path, err)
		}
		if l.Anchor == nil && l.Seq > seq && l.Seq <= last {
			out = append(out, l.JournalEntry)
		}
	}
	return out, sc.Err()
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}

// ackJournal tells the journal that the server holds its entries up to
// seq, so that they may be dropped from disk.
func (a *Agent) ackJournal(seq int64) {
	if err := a.journal.Acknowledge(seq); err != nil {
		a.log.Error("journal", "err", err)
	}
}
