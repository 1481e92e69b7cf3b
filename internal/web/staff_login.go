package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/seal"
)

// stagePath is where a session at a stage continues its login.
func stagePath(st qorgau.SessionStage) string {
	switch st {
	case qorgau.StagePassword:
		return "/login/totp"
	case qorgau.StageChangePassword:
		return "/login/password"
	case qorgau.StageTOTPEnrol:
		return "/login/totp-setup"
	}
	return "/"
}

// nextStage is the step a user owes after passing the previous ones: the
// TOTP code first, then replacing a one-time password, then enrolling a
// second factor where one is required.
func (s *Server) nextStage(u *qorgau.User, totpPassed bool) qorgau.SessionStage {
	switch {
	case u.TOTPSecret != "" && !totpPassed:
		return qorgau.StagePassword
	case u.MustChangePassword:
		return qorgau.StageChangePassword
	case s.cfg.RequireTOTP && u.TOTPSecret == "":
		return qorgau.StageTOTPEnrol
	}
	return qorgau.StageFull
}

type loginData struct {
	Name          string
	Next          string
	Error         string // message key
	Wait          int    // minutes, for the throttle message
	Demo          bool
	Secret        string       // TOTP enrolment
	QR            template.URL // a data: URL made here, not user input
	OTPURL        string
	MinimumLength int
}

func (s *Server) loginForm(w http.ResponseWriter, r *request) error {
	if r.Session != nil && r.Session.Stage == qorgau.StageFull {
		http.Redirect(w, r.Request, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "login", "login.title", loginData{Next: localPath(r.URL.Query().Get("next")), Demo: !s.cfg.RequireTOTP})
}

// dummyHash is checked when the account does not exist, so that the answer
// takes as long as for a wrong password and does not reveal which names exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("qorgau-no-such-user", auth.DefaultParams)
	return h
})

func (s *Server) login(w http.ResponseWriter, r *request) error {
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	data := loginData{Name: name, Next: localPath(r.PostFormValue("next")), Demo: !s.cfg.RequireTOTP}
	if name == "" || password == "" {
		data.Error = "login.error.empty"
		return s.render(w, r, http.StatusBadRequest, "login", "login.title", data)
	}
	if !qorgau.ValidCode(name) {
		// No account can have this name (qorgau.User.Validate). Refused
		// before the throttle and the audit, which would otherwise keep
		// whatever was typed, at any length, in the append-only chain.
		data.Name, data.Error = "", "login.error.wrong"
		return s.render(w, r, http.StatusBadRequest, "login", "login.title", data)
	}
	if wait := s.throttled(name, r.Addr); wait > 0 {
		s.audit(ctx, r, name, qorgau.AuditLoginThrottled, name, fmt.Sprintf("retry after %s", wait.Round(time.Second)))
		data.Error, data.Wait = "login.error.throttled", int(math.Ceil(wait.Minutes()))
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return s.render(w, r, http.StatusTooManyRequests, "login", "login.title", data)
	}
	u, err := s.db.UserByName(ctx, name)
	if err != nil && qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		return err
	}
	hash := dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := auth.CheckPassword(hash, password)
	if err != nil {
		return err
	}
	if u == nil || !ok || u.Disabled {
		s.accountThrottle.Fail(name)
		s.addrThrottle.Fail(r.Addr)
		reason := "wrong password"
		switch {
		case u == nil:
			reason = "no such user"
		case u.Disabled && ok:
			reason = "account disabled"
		}
		s.audit(ctx, r, name, qorgau.AuditLoginFailed, name, reason)
		data.Error = "login.error.wrong"
		return s.render(w, r, http.StatusUnauthorized, "login", "login.title", data)
	}
	return s.startSession(w, r, u, password, data.Next)
}

func (s *Server) throttled(name, addr string) time.Duration {
	return max(s.accountThrottle.RetryAfter(name), s.addrThrottle.RetryAfter(addr))
}

// startSession issues a new session token after a correct password, so that
// a token planted before login is worth nothing.
func (s *Server) startSession(w http.ResponseWriter, r *request, u *qorgau.User, password, next string) error {
	token, id := auth.NewToken()
	stage := s.nextStage(u, false)
	if err := s.db.CreateSession(r.Context(), &qorgau.Session{ID: id, UserID: u.ID, Stage: stage, Addr: r.Addr}); err != nil {
		return err
	}
	if err := s.unlockMember(r.Context(), id, u, password); err != nil {
		s.log.Error("unlock member keys", "user", u.Name, "err", err)
	}
	if r.Session != nil {
		s.db.DeleteSession(r.Context(), r.Session.ID)
		s.keys.drop(r.Session.ID)
	}
	s.setSessionCookie(w, token)
	if stage == qorgau.StageFull {
		s.completeLogin(r.Context(), r, u)
		http.Redirect(w, r.Request, next, http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r.Request, stagePath(stage), http.StatusSeeOther)
	return nil
}

func (s *Server) completeLogin(ctx context.Context, r *request, u *qorgau.User) {
	s.accountThrottle.Reset(u.Name)
	s.audit(ctx, r, u.Name, qorgau.AuditLogin, u.Name, string(u.Role))
}

// advance moves a pending session to its next stage.
func (s *Server) advance(w http.ResponseWriter, r *request, totpPassed bool) error {
	stage := s.nextStage(r.User, totpPassed)
	if err := s.db.TouchSession(r.Context(), r.Session.ID, stage); err != nil {
		return err
	}
	if stage == qorgau.StageFull {
		s.completeLogin(r.Context(), r, r.User)
	}
	http.Redirect(w, r.Request, stagePath(stage), http.StatusSeeOther)
	return nil
}

// atStage answers a pending route visited at the wrong stage by sending the
// session where it belongs.
func atStage(w http.ResponseWriter, r *request, want qorgau.SessionStage) bool {
	if r.Session.Stage == want {
		return true
	}
	http.Redirect(w, r.Request, stagePath(r.Session.Stage), http.StatusSeeOther)
	return false
}

func (s *Server) totpForm(w http.ResponseWriter, r *request) error {
	if !atStage(w, r, qorgau.StagePassword) {
		return nil
	}
	return s.render(w, r, http.StatusOK, "totp", "totp.title", loginData{})
}

func (s *Server) totpCheck(w http.ResponseWriter, r *request) error {
	if !atStage(w, r, qorgau.StagePassword) {
		return nil
	}
	ctx := r.Context()
	if wait := s.throttled(r.User.Name, r.Addr); wait > 0 {
		s.audit(ctx, r, r.User.Name, qorgau.AuditLoginThrottled, r.User.Name, "totp")
		return s.render(w, r, http.StatusTooManyRequests, "totp", "totp.title",
			loginData{Error: "login.error.throttled", Wait: int(math.Ceil(wait.Minutes()))})
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
	if !auth.CheckTOTP(r.User.TOTPSecret, code, s.Now()) {
		s.accountThrottle.Fail(r.User.Name)
		s.addrThrottle.Fail(r.Addr)
		s.audit(ctx, r, r.User.Name, qorgau.AuditTOTPFailed, r.User.Name, "")
		return s.render(w, r, http.StatusUnauthorized, "totp", "totp.title", loginData{Error: "totp.error.wrong"})
	}
	return s.advance(w, r, true)
}

func (s *Server) totpSetupForm(w http.ResponseWriter, r *request) error {
	if !atStage(w, r, qorgau.StageTOTPEnrol) {
		return nil
	}
	secret, err := auth.NewTOTPSecret(s.cfg.Issuer, r.User.Name)
	if err != nil {
		return err
	}
	otpURL, qr, err := auth.TOTPEnrolment(s.cfg.Issuer, r.User.Name, secret)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "totp_setup", "totpsetup.title", loginData{Secret: secret, QR: template.URL(qr), OTPURL: otpURL})
}

func (s *Server) totpSetup(w http.ResponseWriter, r *request) error {
	if !atStage(w, r, qorgau.StageTOTPEnrol) {
		return nil
	}
	secret := r.PostFormValue("secret")
	code := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
	if len(secret) < 16 || !auth.CheckTOTP(secret, code, s.Now()) {
		// Show the same secret again so the person can retry with the
		// authenticator entry they already made.
		otpURL, qr, err := auth.TOTPEnrolment(s.cfg.Issuer, r.User.Name, secret)
		if err != nil {
			return qorgau.Errorf(qorgau.EINVALID, "bad TOTP secret")
		}
		return s.render(w, r, http.StatusBadRequest, "totp_setup", "totpsetup.title",
			loginData{Error: "totp.error.wrong", Secret: secret, QR: template.URL(qr), OTPURL: otpURL})
	}
	u := *r.User
	u.TOTPSecret = secret
	if err := s.db.UpdateUser(r.Context(), &u, false, &qorgau.AuditRecord{
		Actor: u.Name, Action: qorgau.AuditTOTPEnrolled, Target: u.Name, Addr: r.Addr,
	}); err != nil {
		return err
	}
	r.User = &u
	return s.advance(w, r, true)
}

func (s *Server) passwordForm(w http.ResponseWriter, r *request) error {
	if !atStage(w, r, qorgau.StageChangePassword) {
		return nil
	}
	return s.render(w, r, http.StatusOK, "password", "password.title", loginData{MinimumLength: auth.MinPasswordLength})
}

func (s *Server) passwordChange(w http.ResponseWriter, r *request) error {
	if !atStage(w, r, qorgau.StageChangePassword) {
		return nil
	}
	pw, again := r.PostFormValue("password"), r.PostFormValue("again")
	data := loginData{MinimumLength: auth.MinPasswordLength}
	if pw != again {
		data.Error = "password.error.mismatch"
		return s.render(w, r, http.StatusBadRequest, "password", "password.title", data)
	}
	if err := auth.CheckNewPassword(r.User.Name, pw); err != nil {
		data.Error = "password.error.weak"
		return s.render(w, r, http.StatusBadRequest, "password", "password.title", data)
	}
	if ok, _ := auth.CheckPassword(r.User.PasswordHash, pw); ok {
		data.Error = "password.error.same"
		return s.render(w, r, http.StatusBadRequest, "password", "password.title", data)
	}
	hash, err := auth.HashPassword(pw, s.PasswordParams)
	if err != nil {
		return err
	}
	u := *r.User
	u.PasswordHash, u.MustChangePassword = hash, false
	if err := s.db.UpdateUser(r.Context(), &u, false, &qorgau.AuditRecord{
		Actor: u.Name, Action: qorgau.AuditPasswordChange, Target: u.Name, Addr: r.Addr,
	}); err != nil {
		return err
	}
	if u.Role == qorgau.RoleMember {
		// A member's key is made only now, wrapped with the password the
		// member chose: the one-time password an administrator saw never
		// protects it. A new key replaces any earlier one, whose body-key
		// wraps go with it; a current key holder re-grants them.
		rcpt, wrapped, err := seal.NewMemberKey(pw)
		if err != nil {
			return err
		}
		if err := s.db.SetMemberKey(r.Context(), u.ID, rcpt, wrapped, &qorgau.AuditRecord{
			Actor: u.Name, Action: qorgau.AuditMemberKeySet, Target: u.Name, Detail: "new key at first password", Addr: r.Addr,
		}); err != nil {
			return err
		}
		if err := s.unlockMember(r.Context(), r.Session.ID, &u, pw); err != nil {
			return err
		}
	}
	r.User = &u
	return s.advance(w, r, true)
}

func (s *Server) logout(w http.ResponseWriter, r *request) error {
	if err := s.db.DeleteSession(r.Context(), r.Session.ID); err != nil {
		return err
	}
	s.keys.drop(r.Session.ID)
	s.audit(r.Context(), r, r.User.Name, qorgau.AuditLogout, r.User.Name, "")
	s.clearSessionCookie(w)
	http.Redirect(w, r.Request, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) setLanguage(w http.ResponseWriter, r *request) error {
	lang := r.PostFormValue("lang")
	if _, ok := s.locale[lang]; !ok {
		return qorgau.Errorf(qorgau.EINVALID, "unknown language %q", lang)
	}
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r.Request, localPath(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}
