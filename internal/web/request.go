package web

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/store"
)

// handlerFunc is what every route implements: parse, check, act, render;
// return an error and guard renders it.
type handlerFunc func(w http.ResponseWriter, r *request) error

// request is an HTTP request with what guard learnt about it.
type request struct {
	*http.Request
	L       *Locale
	Session *qorgau.Session  // nil if not logged in
	User    *qorgau.User     // nil if not logged in
	Addr    string           // remote IP
	Device  *store.DeviceKey // the terminal that signed the request, on terminal routes
	// signedBody is the body of a terminal request, read whole and covered
	// by the signature authenticateTerminal checked.
	signedBody []byte
	Source     *qorgau.CameraSource // the camera source whose token came with the request, on source routes
}

// touchEvery bounds how often a session's last-seen time is written.
const touchEvery = time.Minute

func (s *Server) newRequest(w http.ResponseWriter, r *http.Request) *request {
	req := &request{Request: r, L: s.localeFor(r), Addr: remoteIP(r)}
	token, bearer := "", false
	if c, err := r.Cookie(s.sessionCookieName()); err == nil && c.Value != "" {
		token = c.Value
	} else if token = bearerToken(r); token != "" {
		bearer = true
	} else {
		return req
	}
	forget := func() {
		if !bearer {
			s.clearSessionCookie(w)
		}
	}
	id := auth.TokenID(token)
	sess, user, err := s.db.Session(r.Context(), id)
	if err != nil {
		if qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			s.log.Error("load session", "err", err)
		}
		forget()
		return req
	}
	now := s.Now()
	if !s.sessionHolds(sess, user, now) {
		s.db.DeleteSession(r.Context(), id)
		s.keys.drop(id)
		forget()
		return req
	}
	if now.Sub(sess.LastSeen) > touchEvery {
		if err := s.db.TouchSession(r.Context(), id, sess.Stage); err != nil {
			s.log.Warn("touch session", "err", err)
		}
	}
	req.Session, req.User = sess, user
	return req
}

// sessionHolds reports whether a stored session is still good at now: its
// user not disabled, not idle past the idle timeout, not older than the
// longest session. newRequest and long requests (stillSignedIn) apply it.
func (s *Server) sessionHolds(sess *qorgau.Session, user *qorgau.User, now time.Time) bool {
	return !user.Disabled && now.Sub(sess.LastSeen) <= s.cfg.IdleTimeout && now.Sub(sess.CreatedAt) <= s.cfg.MaxSessionAge
}

// remoteIP is the peer address of the connection. Qorgau does not trust
// X-Forwarded-For: behind a proxy, throttling counts the proxy's address
// too, which errs on the side of locking out.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) sessionCookieName() string {
	if s.cfg.SecureCookies {
		return "__Host-qorgau_session"
	}
	return "qorgau_session"
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.sessionCookieName(),
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode,
		MaxAge:   int(s.cfg.MaxSessionAge.Seconds()),
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
}

// localPath returns next if it is a path on this site, else "/". It keeps
// the login redirect from sending people elsewhere.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// audit appends a security event; a failure to record it is logged loudly
// but does not fail the request that caused it, except where the caller
// decides otherwise.
func (s *Server) audit(ctx context.Context, r *request, actor, action, target, detail string) error {
	err := s.db.AppendAudit(ctx, &qorgau.AuditRecord{Actor: actor, Action: action, Target: target, Detail: detail, Addr: r.Addr})
	if err != nil {
		s.log.Error("audit append failed", "action", action, "actor", actor, "err", err)
	}
	return err
}

// pageData is what every page template gets.
type pageData struct {
	L       *Locale
	User    *qorgau.User
	Path    string
	Version string
	Title   string // message key of the page title
	Data    any
	Unread  int  // unread notices (staff_notices.go)
	Monitor bool // the user may make test complaints
}

func (s *Server) render(w http.ResponseWriter, r *request, status int, page, title string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return errors.New("web: no page template " + page)
	}
	pd := pageData{L: r.L, Path: r.URL.Path, Version: s.cfg.Version, Title: title, Data: data}
	if r.Session != nil && r.Session.Stage == qorgau.StageFull {
		pd.User = r.User
		pd.Unread, pd.Monitor = s.headerState(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", r.L.Code)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
