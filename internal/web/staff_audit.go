package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

const auditPerPage = 100

func (s *Server) auditList(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	f := qorgau.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Limit: auditPerPage}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return qorgau.Errorf(qorgau.EINVALID, "before must be a record number")
		}
		f.Before = n
	}
	records, err := s.db.AuditRecords(r.Context(), f)
	if err != nil {
		return err
	}
	return s.renderAudit(w, r, f, records, nil)
}

// auditVerify walks the whole chain; it is a POST because it is heavy, not
// because it changes anything.
func (s *Server) auditVerify(w http.ResponseWriter, r *request) error {
	n, err := s.db.VerifyAudit(r.Context(), nil)
	result := &verifyResult{Checked: n}
	var brk *store.AuditBreak
	switch {
	case errors.As(err, &brk):
		result.Broken, result.Reason = brk.Seq, brk.Reason
	case err != nil:
		return err
	}
	records, err := s.db.AuditRecords(r.Context(), qorgau.AuditFilter{Limit: auditPerPage})
	if err != nil {
		return err
	}
	return s.renderAudit(w, r, qorgau.AuditFilter{}, records, result)
}

type verifyResult struct {
	Checked int64
	Broken  int64
	Reason  string
}

func (s *Server) renderAudit(w http.ResponseWriter, r *request, f qorgau.AuditFilter, records []qorgau.AuditRecord, v *verifyResult) error {
	var older string
	if len(records) == auditPerPage {
		q := url.Values{"before": {strconv.FormatInt(records[len(records)-1].Seq, 10)}}
		if f.Actor != "" {
			q.Set("actor", f.Actor)
		}
		if f.Action != "" {
			q.Set("action", f.Action)
		}
		older = "/audit?" + q.Encode()
	}
	return s.render(w, r, http.StatusOK, "audit", "audit.title", struct {
		Records []qorgau.AuditRecord
		Filter  qorgau.AuditFilter
		Older   string
		Verify  *verifyResult
		Actions []string
	}{records, f, older, v, qorgau.AuditActions})
}

func (s *Server) usersList(w http.ResponseWriter, r *request) error {
	users, err := s.db.Users(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "users", "users.title", users)
}
