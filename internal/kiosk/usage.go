package kiosk

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"qorgau.kz/qorgau"
)

// usage keeps the anonymous per-day counters of the kiosk flow: how many
// people reached each step and where sessions ended. Only counts, by the
// terminal's local date; nothing that could tell one person from another.
type usage struct {
	mu    sync.Mutex
	path  string
	now   func() time.Time
	days  map[string]*qorgau.UsageReport
	dirty bool
}

func openUsage(path string, now func() time.Time) (*usage, error) {
	u := &usage{path: path, now: now, days: map[string]*qorgau.UsageReport{}}
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &u.days); err != nil {
			// The counters are a convenience, not evidence: start again.
			u.days = map[string]*qorgau.UsageReport{}
		}
	}
	return u, nil
}

func (u *usage) count(step string, abandoned bool) {
	if !slices.Contains(qorgau.KioskSteps, step) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	day := u.now().Format(time.DateOnly)
	r := u.days[day]
	if r == nil {
		r = &qorgau.UsageReport{Day: day, Reached: map[string]int{}, Abandoned: map[string]int{}}
		u.days[day] = r
	}
	if abandoned {
		r.Abandoned[step]++
	} else {
		r.Reached[step]++
	}
	u.dirty = true
}

// flush writes the counters if they changed.
func (u *usage) flush() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.dirty {
		return nil
	}
	b, err := json.Marshal(u.days)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Dir(u.path), filepath.Base(u.path), b, 0o600); err != nil {
		return err
	}
	u.dirty = false
	return nil
}

// reports returns copies of every day's counters, oldest first.
func (u *usage) reports() []qorgau.UsageReport {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []qorgau.UsageReport
	for _, day := range slices.Sorted(maps.Keys(u.days)) {
		r := u.days[day]
		out = append(out, qorgau.UsageReport{Day: day, Reached: maps.Clone(r.Reached), Abandoned: maps.Clone(r.Abandoned)})
	}
	return out
}

// sent forgets a past day once its final counters reached the server.
func (u *usage) sent(r qorgau.UsageReport) {
	u.mu.Lock()
	defer u.mu.Unlock()
	cur := u.days[r.Day]
	if cur == nil || r.Day == u.now().Format(time.DateOnly) {
		return
	}
	if maps.Equal(cur.Reached, r.Reached) && maps.Equal(cur.Abandoned, r.Abandoned) {
		delete(u.days, r.Day)
		u.dirty = true
	}
}
