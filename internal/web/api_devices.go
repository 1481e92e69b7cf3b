package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
)

// maxBatchBody bounds a camera source's batch: MaxBeatsPerBatch beats of
// generous size.
const maxBatchBody = 16 << 20

// authenticateSource checks the bearer token of a camera source. It
// changes nothing on failure.
func (s *Server) authenticateSource(r *request) error {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "send the source token as Authorization: Bearer <token>")
	}
	src, err := s.db.CameraSourceByToken(r.Context(), auth.TokenID(token))
	if err != nil {
		return err
	}
	r.Source = src
	return nil
}

// beatBatch is the body of POST /api/v1/devices/heartbeats.
type beatBatch struct {
	Heartbeats []qorgau.DeviceBeat `json:"heartbeats"`
}

// beatRejected says why one beat of a batch was not taken.
type beatRejected struct {
	Index  int    `json:"index"`
	Device string `json:"device"`
	Error  string `json:"error"`
}

// beatAnswer is the answer to a batch: how many beats were taken, and why
// each of the others was not.
type beatAnswer struct {
	Accepted int            `json:"accepted"`
	Rejected []beatRejected `json:"rejected"`
}

// apiDeviceHeartbeats takes a camera source's batch of beats. A beat of a
// device the registry does not hold, of a terminal (terminals sign their
// own), outside the source's scope, or from the future is reported in the
// answer and the rest of the batch is taken.
func (s *Server) apiDeviceHeartbeats(w http.ResponseWriter, r *request) error {
	tr, err := s.watcher()
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); !hasMediaType(ct, "application/json") {
		return qorgau.Errorf(qorgau.EUNSUPPORTED, "content type must be application/json, not %q", ct)
	}
	var batch beatBatch
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBatchBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return qorgau.Errorf(qorgau.ETOOLARGE, "a batch is at most %d bytes", maxBatchBody)
		}
		return qorgau.Errorf(qorgau.EINVALID, "malformed JSON: %v", err)
	}
	if len(batch.Heartbeats) > qorgau.MaxBeatsPerBatch {
		return qorgau.Errorf(qorgau.ETOOLARGE, "a batch holds at most %d heartbeats, not %d", qorgau.MaxBeatsPerBatch, len(batch.Heartbeats))
	}
	now := s.Now()
	future := now.Add(s.cfg.ClockSkew)
	src := r.Source
	ans := beatAnswer{Rejected: []beatRejected{}}
	reject := func(k int, b *qorgau.DeviceBeat, why string) {
		ans.Rejected = append(ans.Rejected, beatRejected{Index: k, Device: b.Device, Error: why})
	}
	for k := range batch.Heartbeats {
		b := &batch.Heartbeats[k]
		_, camera, facility, region, ok := tr.Locate(b.Device)
		switch {
		case !ok:
			reject(k, b, "unknown device")
		case !camera:
			reject(k, b, "not a camera: terminals send their own signed heartbeats")
		case src.Facility != "" && src.Facility != facility, src.Region != "" && src.Region != region:
			reject(k, b, "outside this source's scope")
		case b.Time.After(future):
			reject(k, b, "time is in the future")
		case len(b.Detail) > 256:
			reject(k, b, "detail is longer than 256 bytes")
		default:
			tr.Beat(b, now)
			ans.Accepted++
		}
	}
	return writeJSON(w, http.StatusOK, ans)
}

// maintenanceRequest is the body of POST /api/v1/maintenance.
type maintenanceRequest struct {
	Facility string    `json:"facility,omitempty"` // optional: the liaison's own
	Device   string    `json:"device,omitempty"`   // "" for every device of the facility
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Reason   string    `json:"reason"`
}

// apiMaintenance declares, in advance, a maintenance window of the
// liaison's own facility. It is audited and the bodies are told.
func (s *Server) apiMaintenance(w http.ResponseWriter, r *request) error {
	var req maintenanceRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	m, err := s.declareMaintenance(r, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"id": m.ID, "facility": m.Facility, "device": m.Device, "from": m.From, "to": m.To,
		"reason": m.Reason, "declared_by": m.DeclaredBy, "declared_at": m.DeclaredAt,
	})
}

// declareMaintenance stores a liaison's maintenance window of their own
// facility with its audit record, and tells the bodies. The API and the
// console form share it. A standby refuses it: the server that watches
// reads maintenance windows only when it starts or takes the watch over,
// so it would give outages in a window declared here no cause.
func (s *Server) declareMaintenance(r *request, req maintenanceRequest) (*qorgau.Maintenance, error) {
	own := r.User.Facility
	if req.Facility != "" && req.Facility != own {
		return nil, qorgau.Errorf(qorgau.EFORBIDDEN, "you may declare maintenance of your own facility only")
	}
	if s.standby() {
		return nil, errFleetStandby
	}
	m := &qorgau.Maintenance{Facility: own, Device: req.Device, From: req.From, To: req.To,
		Reason: strings.TrimSpace(req.Reason), DeclaredBy: r.User.Name}
	ctx := r.Context()
	if err := s.db.DeclareMaintenance(ctx, m, &qorgau.AuditRecord{
		Actor: r.User.Name, Action: qorgau.AuditMaintenanceDeclared, Target: own, Addr: r.Addr,
		Detail: fmt.Sprintf("%s %s–%s: %s", m.Device, m.From.UTC().Format(time.RFC3339), m.To.UTC().Format(time.RFC3339), m.Reason),
	}); err != nil {
		return nil, err
	}
	if s.cfg.Fleet != nil {
		if err := s.cfg.Fleet.MaintenanceDeclared(ctx, *m); err != nil {
			s.log.Error("tell the bodies of maintenance", "id", m.ID, "err", err)
		}
	}
	return m, nil
}

// fleetMaintenance is the console form of a maintenance declaration: times
// typed in the deployment's zone.
func (s *Server) fleetMaintenance(w http.ResponseWriter, r *request) error {
	code := r.PathValue("code")
	if code != r.User.Facility {
		return qorgau.Errorf(qorgau.EFORBIDDEN, "you may declare maintenance of your own facility only")
	}
	req := maintenanceRequest{Facility: code, Device: strings.TrimSpace(r.PostFormValue("device")), Reason: r.PostFormValue("reason")}
	var err error
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		v := strings.TrimSpace(r.PostFormValue(f.name))
		if *f.t, err = time.ParseInLocation("2006-01-02T15:04", v, s.localZone()); err != nil {
			return qorgau.Errorf(qorgau.EINVALID, "%q is not a date and time (YYYY-MM-DDTHH:MM)", v)
		}
	}
	if _, err := s.declareMaintenance(r, req); err != nil {
		return err
	}
	http.Redirect(w, r.Request, "/fleet/facility/"+url.PathEscape(code)+"#maint", http.StatusSeeOther)
	return nil
}
