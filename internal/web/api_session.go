package web

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
)

// Programs that use the staff JSON API (a body's case-management system, a
// script of the NPM) sign in with the same password and second factor as a
// person at the console, and get a session token to send as
// "Authorization: Bearer <token>". It is an ordinary session: the same
// idle and maximum age, the same role checks, the same audit, the member's
// body keys unlocked in memory only; a restart or DELETE /api/v1/session
// ends it. Bearer tokens count only under /api/v1/, so that a browser can't
// be made to carry one to the console.

type apiSignIn struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	TOTP     string `json:"totp,omitempty"`
}

type apiSessionOut struct {
	Token       string    `json:"token"`
	User        string    `json:"user"`
	Role        string    `json:"role"`
	Body        string    `json:"body,omitempty"`
	IdleTimeout int       `json:"idle_timeout_seconds"`
	Expires     time.Time `json:"expires"`
}

func (s *Server) apiSignIn(w http.ResponseWriter, r *request) error {
	ctx := r.Context()
	var in apiSignIn
	if err := readJSON(r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || in.Password == "" {
		return qorgau.Errorf(qorgau.EINVALID, "name and password are required")
	}
	if !qorgau.ValidCode(in.Name) {
		// As at the console (login): refused before the throttle and the
		// audit, which would otherwise keep it at any length.
		return qorgau.Errorf(qorgau.EINVALID, "no account has this name: a name is 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if wait := s.throttled(in.Name, r.Addr); wait > 0 {
		s.audit(ctx, r, in.Name, qorgau.AuditLoginThrottled, in.Name, fmt.Sprintf("api; retry after %s", wait.Round(time.Second)))
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return qorgau.Errorf(qorgau.ETOOMANY, "too many failed sign-ins: try again in %d minutes", int(math.Ceil(wait.Minutes())))
	}
	u, err := s.db.UserByName(ctx, in.Name)
	if err != nil && qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		return err
	}
	hash := dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := auth.CheckPassword(hash, in.Password)
	if err != nil {
		return err
	}
	fail := func(reason string) error {
		s.accountThrottle.Fail(in.Name)
		s.addrThrottle.Fail(r.Addr)
		s.audit(ctx, r, in.Name, qorgau.AuditLoginFailed, in.Name, "api; "+reason)
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "wrong name, password or second-factor code")
	}
	switch {
	case u == nil:
		return fail("no such user")
	case !ok:
		return fail("wrong password")
	case u.Disabled:
		return fail("account disabled")
	case u.TOTPSecret != "" && !auth.CheckTOTP(u.TOTPSecret, strings.ReplaceAll(strings.TrimSpace(in.TOTP), " ", ""), s.Now()):
		return fail("wrong or missing TOTP code")
	}
	if stage := s.nextStage(u, true); stage != qorgau.StageFull {
		return qorgau.Errorf(qorgau.EFORBIDDEN, "finish signing in at the console first (%s)", stagePath(stage))
	}
	token, id := auth.NewToken()
	if err := s.db.CreateSession(ctx, &qorgau.Session{ID: id, UserID: u.ID, Stage: qorgau.StageFull, Addr: r.Addr}); err != nil {
		return err
	}
	if err := s.unlockMember(ctx, id, u, in.Password); err != nil {
		s.log.Error("unlock member keys", "user", u.Name, "err", err)
	}
	s.accountThrottle.Reset(u.Name)
	s.audit(ctx, r, u.Name, qorgau.AuditLogin, u.Name, string(u.Role)+"; api")
	return writeJSON(w, http.StatusCreated, apiSessionOut{
		Token: token, User: u.Name, Role: string(u.Role), Body: u.Body,
		IdleTimeout: int(s.cfg.IdleTimeout.Seconds()), Expires: s.Now().Add(s.cfg.MaxSessionAge).UTC().Truncate(time.Second),
	})
}

func (s *Server) apiSignOut(w http.ResponseWriter, r *request) error {
	if err := s.db.DeleteSession(r.Context(), r.Session.ID); err != nil {
		return err
	}
	s.keys.drop(r.Session.ID)
	s.audit(r.Context(), r, r.User.Name, qorgau.AuditLogout, r.User.Name, "api")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bearerToken returns the session token of an API request's Authorization
// header, or "" when there is none or the path is not the staff API.
func bearerToken(r *http.Request) string {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		return ""
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
