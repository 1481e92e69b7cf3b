package ui

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"qorgau.kz/qorgau/internal/kiosk"
)

// session is one person's use of the kiosk, from the choice of language to
// the wipe. It lives in memory only.
type session struct {
	id      string
	lang    string
	step    string          // the last step shown, for Abandon
	reached map[string]bool // steps already counted
	draft   kiosk.Draft
	sent    *kiosk.Sent
	code    string // the receipt code being checked
	answers []kiosk.Answer
	timer   *time.Timer
}

// wipe drops everything the session holds. Go strings cannot be overwritten;
// the recording can, and is.
func (s *session) wipe() {
	if v := s.draft.Voice; v != nil {
		clear(v.Data)
	}
	s.draft = kiosk.Draft{}
	s.sent = nil
	s.code = ""
	s.answers = nil
}

// sessions holds the live sessions. A kiosk serves one person at a time: a
// new session ends every other.
type sessions struct {
	mu      sync.Mutex
	m       map[string]*session
	ttl     time.Duration
	abandon func(step string)
}

func newSessions(ttl time.Duration, abandon func(string)) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, abandon: abandon}
}

// open starts a session in lang, ending the others.
func (ss *sessions) open(lang string) *session {
	var b [16]byte
	rand.Read(b[:])
	s := &session{id: hex.EncodeToString(b[:]), lang: lang, reached: map[string]bool{}}
	ss.mu.Lock()
	old := make([]*session, 0, len(ss.m))
	for _, o := range ss.m {
		old = append(old, o)
	}
	ss.m[s.id] = s
	ss.mu.Unlock()
	for _, o := range old {
		ss.end(o.id)
	}
	s.timer = time.AfterFunc(ss.ttl, func() { ss.end(s.id) })
	return s
}

// get returns the session with id and pushes its expiry back, or nil.
// The caller holds the session's lock (the sessions' mutex) while it works:
// a kiosk has one person, so one lock is enough.
func (ss *sessions) get(id string) *session {
	s := ss.m[id]
	if s != nil && s.timer != nil {
		s.timer.Reset(ss.ttl)
	}
	return s
}

// end wipes and forgets the session, counting where it was abandoned. It
// does nothing for a session already ended.
func (ss *sessions) end(id string) {
	ss.mu.Lock()
	s := ss.m[id]
	delete(ss.m, id)
	if s != nil {
		if s.timer != nil {
			s.timer.Stop()
		}
		s.wipe()
	}
	ss.mu.Unlock()
	if s != nil && s.step != "" && ss.abandon != nil {
		ss.abandon(s.step)
	}
}

// len is the number of live sessions.
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}
