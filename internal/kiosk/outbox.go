package kiosk

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"qorgau.kz/qorgau"
)

// Item is one envelope waiting in the outbox: the sealed envelope and the
// routing the server needs in the clear, nothing else. Nothing in it is
// readable without a body's key or the person's receipt code.
type Item struct {
	ID       string          `json:"id"` // the envelope's idempotency id
	Bodies   []string        `json:"bodies"`
	Category qorgau.Category `json:"category"`
	Urgent   bool            `json:"urgent,omitempty"`
	Test     bool            `json:"test,omitempty"`
	// TestCode is the monitor's one-time code that lets the server accept a
	// test complaint; it says nothing of what was written.
	TestCode string `json:"test_code,omitempty"`
	LookupID string `json:"lookup"`
	Envelope []byte `json:"envelope"`
}

// Routing returns the item's routing for Client.Submit.
func (it *Item) Routing() Routing {
	return Routing{Bodies: it.Bodies, Category: it.Category, Urgent: it.Urgent, Test: it.Test, TestCode: it.TestCode, LookupID: it.LookupID}
}

// Outbox is a folder of envelopes waiting to be delivered, one file each,
// named so that they sort in the order they were queued. A file appears
// whole or not at all (see writeAtomic) and is removed only once the
// server has answered with a receipt, so a crash or a power loss at any
// moment loses nothing; the idempotency id inside the envelope makes a
// resend after a crash return the same complaint, so nothing is doubled.
type Outbox struct {
	dir string

	mu   sync.Mutex
	last int64 // the last sequence number used
	n    int   // files waiting
}

const outboxExt = ".env"

// OpenOutbox opens or creates the outbox folder dir, removing what an
// interrupted write left behind.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Join(dir, "rejected"), 0o700); err != nil {
		return nil, err
	}
	if err := removeTemps(dir); err != nil {
		return nil, err
	}
	o := &Outbox{dir: dir}
	names, err := o.List()
	if err != nil {
		return nil, err
	}
	o.n = len(names)
	if len(names) > 0 {
		fmt.Sscanf(names[len(names)-1], "%d-", &o.last)
	}
	return o, nil
}

// Put writes an item durably and returns its file name.
func (o *Outbox) Put(it *Item) (string, error) {
	if !qorgau.ValidCode(it.ID) {
		return "", qorgau.Errorf(qorgau.EINVALID, "outbox: bad idempotency id %q", it.ID)
	}
	b, err := json.Marshal(it)
	if err != nil {
		return "", err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	seq := max(time.Now().UnixNano(), o.last+1)
	name := fmt.Sprintf("%020d-%s%s", seq, it.ID, outboxExt)
	if err := writeAtomic(o.dir, name, b, 0o600); err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	o.last = seq
	o.n++
	return name, nil
}

// List returns the names of the waiting items, oldest first.
func (o *Outbox) List() ([]string, error) {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), outboxExt) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Load reads one item.
func (o *Outbox) Load(name string) (*Item, error) {
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		return nil, err
	}
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		return nil, fmt.Errorf("outbox item %s: %w", name, err)
	}
	return &it, nil
}

// Done removes a delivered item, durably.
func (o *Outbox) Done(name string) error {
	if err := os.Remove(filepath.Join(o.dir, name)); err != nil {
		return err
	}
	o.mu.Lock()
	o.n--
	o.mu.Unlock()
	return syncDir(o.dir)
}

// Reject moves an item the server refused for good into the rejected
// folder, where it stays for an engineer to look at; it is not resent.
func (o *Outbox) Reject(name string) error {
	if err := os.Rename(filepath.Join(o.dir, name), filepath.Join(o.dir, "rejected", name)); err != nil {
		return err
	}
	o.mu.Lock()
	o.n--
	o.mu.Unlock()
	if err := syncDir(filepath.Join(o.dir, "rejected")); err != nil {
		return err
	}
	return syncDir(o.dir)
}

// Len returns how many items wait.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}
