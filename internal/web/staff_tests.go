package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// testRoles may make test complaints: the NPM's coordinators, who visit
// facilities, and the members of an NPM body (the handlers refuse members
// of other bodies). A test complaint is a power of the national preventive
// mechanism: it proves to the NPM that every body's inbox receives what a
// kiosk sends, so no other body may inject them.
var testRoles = []qorgau.Role{qorgau.RoleMember, qorgau.RoleNPM}

// monitorBody returns the body a monitor's test notices go to: the
// member's NPM body, or "" for an NPM coordinator (the notices then go to
// every NPM body). Anyone else is EFORBIDDEN.
func (s *Server) monitorBody(r *request) (string, error) {
	switch r.User.Role {
	case qorgau.RoleNPM:
		return "", nil
	case qorgau.RoleMember:
		b, err := s.db.Body(r.Context(), r.User.Body)
		if err != nil {
			return "", err
		}
		if b.Kind == qorgau.BodyNPM {
			return b.Code, nil
		}
	}
	return "", qorgau.Errorf(qorgau.EFORBIDDEN, "only the national preventive mechanism makes test complaints")
}

// testCodeHash is how a test code is stored and looked up.
func testCodeHash(code string) string {
	sum := sha256.Sum256([]byte("qorgau-test-code/v1\n" + code))
	return hex.EncodeToString(sum[:])
}

// tests shows the monitor's test codes and, for each test complaint, when
// it reached each body and when that body first read it.
func (s *Server) tests(w http.ResponseWriter, r *request) error {
	if _, err := s.monitorBody(r); err != nil {
		return err
	}
	return s.renderTests(w, r, http.StatusOK, "", time.Time{})
}

func (s *Server) renderTests(w http.ResponseWriter, r *request, status int, code string, expires time.Time) error {
	list, err := s.db.MonitorTests(r.Context(), r.User.Name, 100)
	if err != nil {
		return err
	}
	now := s.Now()
	type row struct {
		store.TestComplaint
		State string // unused, expired, used
	}
	rows := make([]row, len(list))
	for i, tc := range list {
		rows[i].TestComplaint = tc
		switch {
		case !tc.UsedAt.IsZero():
			rows[i].State = "used"
		case !now.Before(tc.ExpiresAt):
			rows[i].State = "expired"
		default:
			rows[i].State = "unused"
		}
	}
	return s.render(w, r, status, "tests", "tests.title", struct {
		Code    string // a new code, shown once
		Expires time.Time
		Rows    []row
	}{code, expires, rows})
}

// testCreate makes a one-time test code, valid for qorgau.MonitorTestTTL,
// and shows it once; only its hash is kept. The issue is audited.
func (s *Server) testCreate(w http.ResponseWriter, r *request) error {
	body, err := s.monitorBody(r)
	if err != nil {
		return err
	}
	code := seal.NewReceiptCode()
	t := &qorgau.MonitorTest{CreatedBy: r.User.Name, Body: body, ExpiresAt: s.Now().Add(qorgau.MonitorTestTTL).UTC()}
	if err := s.db.CreateMonitorTest(r.Context(), testCodeHash(code), t, &qorgau.AuditRecord{
		Actor: r.User.Name, Action: qorgau.AuditTestCodeIssued, Target: "test " + strconv.FormatInt(t.ID, 10),
		Detail: "valid until " + t.ExpiresAt.Format(time.RFC3339), Addr: r.Addr,
	}); err != nil {
		return err
	}
	return s.renderTests(w, r, http.StatusOK, seal.FormatCode(code), t.ExpiresAt)
}

// terminalTestCode answers a kiosk that asks, before it seals and queues a
// monitor's test complaint, whether the code the monitor typed can be
// used: 200 {"usable": true} if so; 400 if it is not a 16-digit code; 403,
// the same for an unknown, used or expired code, otherwise. Nothing is
// stored or used: the submission claims the code.
//
//	POST /api/terminal/v1/test-codes/check {"test_code": "1234 5678 9012 3456"}
func (s *Server) terminalTestCode(w http.ResponseWriter, r *request) error {
	var req struct {
		Code string `json:"test_code"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	code, err := seal.ParseCode(req.Code)
	if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "a test code has 16 digits")
	}
	if err := s.db.CheckMonitorTest(r.Context(), testCodeHash(code), s.Now()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"usable": true})
}

// claimTestCode checks a terminal's test code for the submission with the
// envelope's idempotency id and uses it. It returns the test, and whether
// this request used it (false for a retry of the same submission).
func (s *Server) claimTestCode(r *request, typed, envIdem string) (*qorgau.MonitorTest, bool, error) {
	code, err := seal.ParseCode(typed)
	if err != nil {
		return nil, false, qorgau.Errorf(qorgau.EINVALID, "a test code has 16 digits")
	}
	return s.db.ClaimMonitorTest(r.Context(), testCodeHash(code), r.Device.Device, "complaint:"+r.Device.Device+":"+envIdem, s.Now())
}

// testArrived audits a used test code and tells the monitor's body (or the
// NPM's bodies) that the test complaint arrived. A failure is logged: the
// complaint is filed either way.
func (s *Server) testArrived(r *request, t *qorgau.MonitorTest, complaint int64, bodies []string) {
	ctx := r.Context()
	if err := s.db.AppendAudit(ctx, &qorgau.AuditRecord{Actor: "terminal:" + r.Device.Device, Action: qorgau.AuditTestCodeUsed,
		Target: "test " + strconv.FormatInt(t.ID, 10), Detail: fmt.Sprintf("complaint %d by %s", complaint, t.CreatedBy), Addr: r.Addr}); err != nil {
		s.log.Error("audit test code", "err", err)
	}
	if s.cfg.Notifier == nil {
		return
	}
	to := []string{t.Body}
	if t.Body == "" {
		var err error
		if to, err = s.db.BodiesOfKind(ctx, qorgau.BodyNPM); err != nil || len(to) == 0 {
			s.log.Error("test notice: no NPM body", "err", err)
			return
		}
	}
	if err := s.cfg.Notifier.Notify(ctx, &qorgau.Notice{
		Kind: qorgau.NoticeTestDelivered, Bodies: to, Region: r.Device.Region, Facility: r.Device.Facility, Device: r.Device.Device,
		Complaint: complaint, Key: fmt.Sprintf("%s/%d", qorgau.NoticeTestDelivered, complaint),
		Text: fmt.Sprintf("Test complaint %d from terminal %s (facility %s) arrived at %d bodies.", complaint, r.Device.Device, r.Device.Facility, len(bodies)),
	}); err != nil {
		s.log.Error("test notice", "err", err)
	}
}
