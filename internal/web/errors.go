package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/tlog"
)

var (
	// errLoginRequired sends a visitor without a session to the login form.
	errLoginRequired = errors.New("login required")
	// errLoginIncomplete sends a half-logged-in session to its next step.
	errLoginIncomplete = errors.New("login incomplete")
)

// statusOf maps the error vocabulary to HTTP status codes. It is the only
// such table.
var statusOf = map[string]int{
	qorgau.EINVALID:      http.StatusBadRequest,
	qorgau.EUNAUTHORIZED: http.StatusUnauthorized,
	qorgau.EFORBIDDEN:    http.StatusForbidden,
	qorgau.ENOTFOUND:     http.StatusNotFound,
	qorgau.ECONFLICT:     http.StatusConflict,
	qorgau.ETOOMANY:      http.StatusTooManyRequests,
	qorgau.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	qorgau.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	qorgau.EMETHOD:       http.StatusMethodNotAllowed,
	qorgau.EUNAVAILABLE:  http.StatusServiceUnavailable,
	qorgau.EINTERNAL:     http.StatusInternalServerError,
}

// renderError writes err as a page in the request's language. Internal
// errors are logged with detail and shown without it.
func (s *Server) renderError(w http.ResponseWriter, r *request, err error) {
	if strings.HasPrefix(r.URL.Path, "/api/") && (errors.Is(err, errLoginRequired) || errors.Is(err, errLoginIncomplete)) {
		// An API client gets a status, not a login page.
		err = qorgau.Errorf(qorgau.EUNAUTHORIZED, "sign in at /login (password and second factor) first")
	}
	switch {
	case errors.Is(err, errLoginRequired):
		http.Redirect(w, r.Request, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	case errors.Is(err, errLoginIncomplete):
		http.Redirect(w, r.Request, stagePath(r.Session.Stage), http.StatusSeeOther)
		return
	}
	code, status, msg := s.errorParts(err, "method", r.Method, "path", r.URL.Path)
	if code == qorgau.EUNAVAILABLE {
		w.Header().Set("Retry-After", "2")
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if msg == "" {
			msg = "internal error"
		}
		writeJSON(w, status, apiError{Error: code, Message: msg})
		return
	}
	data := struct {
		Status  int
		Message string
		Explain string // the explanation's catalogue key
	}{status, msg, fmt.Sprint("error.explain.", status)}
	title := "error." + code
	if errors.Is(err, tlog.ErrErased) {
		// Not "nothing at this address": the complaint is there, its
		// content was crypto-shredded on purpose.
		title, data.Explain = "error.erased", "error.explain.erased"
	}
	if rerr := s.render(w, r, status, "error", title, data); rerr != nil {
		s.log.Error("render error page", "err", rerr)
		http.Error(w, http.StatusText(status), status)
	}
}

// errorParts returns err's code, HTTP status and the message safe to show.
// An internal error is logged with detail, and what, and its message is
// empty. An EUNAVAILABLE answer asks for a retry after 2 s.
func (s *Server) errorParts(err error, what ...any) (code string, status int, msg string) {
	code = qorgau.ErrorCode(err)
	if code == qorgau.EINTERNAL {
		s.log.Error("request failed", append(what, "err", err)...)
		return code, statusOf[code], ""
	}
	return code, statusOf[code], qorgau.ErrorMessage(err)
}

// apiError is the body of every error answer of the JSON APIs.
type apiError struct {
	Error   string `json:"error"`   // a code of the error vocabulary
	Message string `json:"message"` // what went wrong, for a person
}

// notFound answers every request no other route claims, in the visitor's
// language (or as the JSON API's error) rather than net/http's plain
// English: 405 with Allow when the address exists for other methods, and
// 404 otherwise. It is routed for every method, so that net/http's own
// 405 does not count this catch-all's GET as allowed everywhere.
func (s *Server) notFound(w http.ResponseWriter, r *request) error {
	if allow := s.allowed(r.Request); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return qorgau.Errorf(qorgau.EMETHOD, "%s does not take %s; it takes %s", r.URL.Path, r.Method, strings.Join(allow, ", "))
	}
	return errNoPage(r)
}

// errNoPage is the answer for an address nothing serves.
func errNoPage(r *request) error {
	return qorgau.Errorf(qorgau.ENOTFOUND, "no page at %s", r.URL.Path)
}

// allowed returns the methods another route than the catch-all takes at
// r's address.
func (s *Server) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != catchAll {
			allow = append(allow, m)
		}
	}
	return allow
}
