package web

import (
	"context"
	"sync"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

// keyring holds, in memory only, the body keys each logged-in member
// unwrapped with their password at login. A session's keys go when the
// session ends; a restart forgets them all, and members log in again. They
// are never written anywhere.
type keyring struct {
	mu   sync.Mutex
	keys map[string][]age.Identity // session id → identities of the member's body
}

func (k *keyring) put(session string, ids []age.Identity) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = map[string][]age.Identity{}
	}
	k.keys[session] = ids
}

func (k *keyring) get(session string) []age.Identity {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[session]
}

func (k *keyring) drop(session string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, session)
}

// keep drops the keys of every session not in live.
func (k *keyring) keep(live func(session string) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for s := range k.keys {
		if !live(s) {
			delete(k.keys, s)
		}
	}
}

// unlockMember unwraps a member's key with the password just checked, then
// every version of the body's key wrapped to it, and keeps them for the
// session. A member without a key yet, or without wraps, gets an empty
// keyring: the inbox says so rather than failing the login.
func (s *Server) unlockMember(ctx context.Context, session string, u *qorgau.User, password string) error {
	if u.Role != qorgau.RoleMember {
		return nil
	}
	mk, err := s.db.MemberKey(ctx, u.ID)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		s.keys.put(session, nil)
		return nil
	} else if err != nil {
		return err
	}
	member, err := seal.UnwrapMemberKey(mk.Wrapped, password)
	if err != nil {
		return err
	}
	wraps, err := s.db.BodyKeyWraps(ctx, u.ID, u.Body)
	if err != nil {
		return err
	}
	list := make([]seal.WrappedBodyKey, len(wraps))
	for i, w := range wraps {
		list[i] = seal.WrappedBodyKey{Body: w.Body, Version: w.Version, Recipient: w.Recipient, Wrapped: w.Wrapped}
	}
	byBody, err := seal.UnwrapBodyKeys(member, list)
	if err != nil && len(byBody) == 0 {
		return err
	}
	s.keys.put(session, byBody[u.Body])
	return nil
}
