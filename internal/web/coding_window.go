package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// localZone is the deployment's time zone, in which members read and type
// an incident's time window: the working-day calendar's.
func (s *Server) localZone() *time.Location {
	if s.cfg.Complaints != nil && s.cfg.Complaints.Calendar != nil && s.cfg.Complaints.Calendar.Location != nil {
		return s.cfg.Complaints.Calendar.Location
	}
	return time.UTC
}

// incidentWindow sets c's incident window from two typed values, each
// empty (unknown), a date, a date and time as a datetime-local field sends
// it (in the deployment's zone), or RFC 3339. A date alone starts its day
// for from and ends it for to.
func (s *Server) incidentWindow(c *store.Coding, from, to string) error {
	var err error
	if c.IncidentFrom, err = s.parseIncidentTime(from, false); err != nil {
		return err
	}
	c.IncidentTo, err = s.parseIncidentTime(to, true)
	return err
}

func (s *Server) parseIncidentTime(v string, end bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", v, s.localZone()); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, s.localZone()); err == nil {
		if end {
			t = t.AddDate(0, 0, 1).Add(-time.Minute)
		}
		return t.UTC(), nil
	}
	return time.Time{}, qorgau.Errorf(qorgau.EINVALID, "the incident time %q is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)", v)
}

// saveCoding checks and stores a member's coding of a complaint of their
// body, with its audit record; the console and the API share it.
func (s *Server) saveCoding(r *request, c *store.Coding) error {
	if !slices.Contains(qorgau.AppealKinds, c.Kind) || !slices.Contains(qorgau.Categories, c.Category) {
		return qorgau.Errorf(qorgau.EINVALID, "choose a kind and a category")
	}
	if len(c.Named) > 2000 || len(c.Zone) > 64 {
		return qorgau.Errorf(qorgau.EINVALID, "zone or named persons too long")
	}
	detail := fmt.Sprintf("category %s torture %v imminent %v", c.Category, c.Torture, c.ImminentRisk)
	if !c.IncidentFrom.IsZero() || !c.IncidentTo.IsZero() {
		detail += fmt.Sprintf(" incident %s–%s", stamp(c.IncidentFrom), stamp(c.IncidentTo))
	}
	return s.db.SaveCoding(r.Context(), c, &qorgau.AuditRecord{Actor: r.User.Name, Action: qorgau.AuditComplaintCoded,
		Target: strconv.FormatInt(c.Complaint, 10), Detail: detail, Addr: r.Addr})
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

// apiCoding is a body's coding in the staff API.
type apiCoding struct {
	Kind         string     `json:"kind"`
	Category     string     `json:"category"`
	Torture      bool       `json:"torture"`
	ImminentRisk bool       `json:"imminent_risk"`
	Zone         string     `json:"zone"`
	Named        string     `json:"named"`
	IncidentFrom *time.Time `json:"incident_from"`
	IncidentTo   *time.Time `json:"incident_to"`
	CodedBy      string     `json:"coded_by,omitempty"`
	CodedAt      *time.Time `json:"coded_at,omitempty"`
}

func toAPICoding(c *store.Coding) apiCoding {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return apiCoding{Kind: string(c.Kind), Category: string(c.Category), Torture: c.Torture, ImminentRisk: c.ImminentRisk,
		Zone: c.Zone, Named: c.Named, IncidentFrom: opt(c.IncidentFrom), IncidentTo: opt(c.IncidentTo), CodedBy: c.CodedBy, CodedAt: opt(c.CodedAt)}
}

// apiCode codes a complaint of the member's body, as the console's coding
// form does: {"kind", "category", "torture", "imminent_risk", "zone",
// "named", "incident_from", "incident_to"}; the times are RFC 3339 or
// dates, null or absent where unknown. A torture flag is cleared only
// through the two-member procedure (clear-flag, then approve-clear).
func (s *Server) apiCode(w http.ResponseWriter, r *request) error {
	var req struct {
		Kind         string `json:"kind"`
		Category     string `json:"category"`
		Torture      bool   `json:"torture"`
		ImminentRisk bool   `json:"imminent_risk"`
		Zone         string `json:"zone"`
		Named        string `json:"named"`
		IncidentFrom string `json:"incident_from"`
		IncidentTo   string `json:"incident_to"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	id, err := s.memberComplaint(r)
	if err != nil {
		return err
	}
	c := &store.Coding{Complaint: id, Body: r.User.Body, Kind: qorgau.AppealKind(req.Kind), Category: qorgau.Category(req.Category),
		Torture: req.Torture, ImminentRisk: req.ImminentRisk, Zone: strings.TrimSpace(req.Zone), Named: strings.TrimSpace(req.Named),
		CodedBy: r.User.Name, CodedAt: s.Now()}
	if err := s.incidentWindow(c, req.IncidentFrom, req.IncidentTo); err != nil {
		return err
	}
	if err := s.saveCoding(r, c); err != nil {
		return err
	}
	saved, err := s.db.Coding(r.Context(), id, r.User.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, "coding": toAPICoding(saved)})
}
