package auth

import (
	"sync"
	"time"
)

// Throttle limits failed logins per key (an account name, a remote address)
// within a sliding window. It is safe for concurrent use. It lives in memory:
// a restart forgets it, which costs an attacker a restart's worth of tries,
// bounded by the window.
type Throttle struct {
	// Limit is how many failures a key may have within Window.
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// NewThrottle returns a throttle allowing limit failures per window.
func NewThrottle(limit int, window time.Duration) *Throttle {
	return &Throttle{Limit: limit, Window: window, Now: time.Now, fails: map[string][]time.Time{}}
}

// RetryAfter returns how long key must wait before its next attempt, or 0 if
// it may try now.
func (t *Throttle) RetryAfter(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	f := t.prune(key, now)
	if len(f) < t.Limit {
		return 0
	}
	// The attempt becomes possible when the oldest failure that still counts
	// leaves the window.
	return f[len(f)-t.Limit].Add(t.Window).Sub(now)
}

// Fail records a failed attempt by key.
func (t *Throttle) Fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	f := append(t.prune(key, now), now)
	if len(f) > t.Limit {
		f = f[len(f)-t.Limit:]
	}
	t.fails[key] = f
}

// Reset forgets key's failures, after a successful login.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

func (t *Throttle) prune(key string, now time.Time) []time.Time {
	f := t.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= t.Window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(t.fails, key)
		return nil
	}
	t.fails[key] = f
	return f
}
