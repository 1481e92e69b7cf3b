package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/seal"
)

var errNoLog = qorgau.Errorf(qorgau.ENOTFOUND, "this server runs no complaint log")

// envelopeType is the media type of a sealed envelope in a request body.
const envelopeType = "application/vnd.qorgau.envelope"

type submitResponse struct {
	Complaint int64    `json:"complaint"`
	Bodies    []string `json:"bodies"`
	Receipt   string   `json:"receipt"` // C2SP tlog-proof, base64
}

// terminalSubmit accepts a sealed complaint. The body is the envelope; the
// routing data the server needs in the clear is in the query, which the
// terminal's signature covers:
//
//	POST /api/terminal/v1/complaints?bodies=PROS-KZ-35,NPM&category=torture&urgent=1&lookup=<32 hex>
//
// A marked test complaint carries test=1 and a monitor's one-time
// test_code (see staff_tests.go); a test flag without a valid, unused code
// is refused and nothing is stored. The answer comes after the log has
// committed, with the receipt.
func (s *Server) terminalSubmit(w http.ResponseWriter, r *request) error {
	if s.cfg.Complaints == nil {
		return errNoLog
	}
	if ct := r.Header.Get("Content-Type"); !hasMediaType(ct, envelopeType) {
		return qorgau.Errorf(qorgau.EUNSUPPORTED, "content type must be %s, not %q", envelopeType, ct)
	}
	q := r.URL.Query()
	for k, v := range q {
		switch k {
		case "bodies", "category", "urgent", "test", "lookup", "test_code":
		default:
			return qorgau.Errorf(qorgau.EINVALID, "unknown parameter %q", k)
		}
		// q.Get would read the first and drop the rest: urgent=0&urgent=1
		// would be filed as not urgent, bodies=A&bodies=B to A alone.
		if len(v) > 1 {
			return qorgau.Errorf(qorgau.EINVALID, "parameter %q is given %d times; give it once (bodies are comma-separated)", k, len(v))
		}
	}
	urgent, err := flag(q.Get("urgent"))
	if err != nil {
		return err
	}
	test, err := flag(q.Get("test"))
	if err != nil {
		return err
	}
	if test != q.Has("test_code") {
		return qorgau.Errorf(qorgau.EINVALID, "a test complaint needs a monitor's test_code, and a test_code needs test=1")
	}
	body := r.signedBody
	var monitor *qorgau.MonitorTest
	var fresh bool // this request used the code; false for a retry
	if test {
		env, err := seal.ParseEnvelope(body, int(s.cfg.MaxTerminalBody))
		if err != nil {
			return err
		}
		if monitor, fresh, err = s.claimTestCode(r, q.Get("test_code"), env.IdempotencyID); err != nil {
			return err
		}
		if fresh {
			// Give the code back if the submission is refused.
			defer func() {
				if monitor != nil {
					if err := s.db.ReleaseMonitorTest(context.WithoutCancel(r.Context()), monitor.ID); err != nil {
						s.log.Error("release test code", "err", err)
					}
				}
			}()
		}
	}
	var bodies []string
	if b := q.Get("bodies"); b != "" {
		bodies = strings.Split(b, ",")
	}
	res, err := s.cfg.Complaints.Submit(r.Context(), r.Device, complaints.SubmitRequest{
		Envelope: body, Bodies: bodies, Category: qorgau.Category(q.Get("category")),
		Urgent: urgent, Test: test, LookupID: q.Get("lookup"),
	})
	if err != nil {
		return err
	}
	if monitor != nil && fresh {
		s.testArrived(r, monitor, res.ID, res.Bodies)
	}
	monitor = nil // filed: the code stays used
	return writeJSON(w, http.StatusOK, submitResponse{
		Complaint: res.ID, Bodies: res.Bodies,
		Receipt: base64.StdEncoding.EncodeToString(res.Receipt.Marshal()),
	})
}

func flag(v string) (bool, error) {
	switch v {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, qorgau.Errorf(qorgau.EINVALID, "a flag is 0 or 1, not %q", v)
}

// terminalReceipt returns a complaint's receipt again, against the newest
// checkpoint, to the terminal that filed it.
func (s *Server) terminalReceipt(w http.ResponseWriter, r *request) error {
	if s.cfg.Complaints == nil {
		return errNoLog
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return qorgau.Errorf(qorgau.EINVALID, "complaint id must be a number")
	}
	c, err := s.db.Complaint(r.Context(), id)
	if err != nil {
		return err
	}
	if c.Device != r.Device.Device {
		// Not this terminal's: answer as if it did not exist.
		return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d not found", id)
	}
	rc, err := s.cfg.Log.Receipt(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, submitResponse{Complaint: id, Receipt: base64.StdEncoding.EncodeToString(rc.Marshal())})
}

// terminalDirectory returns the signed directory of the bodies a terminal
// of this region may write to, as a signed note.
func (s *Server) terminalDirectory(w http.ResponseWriter, r *request) error {
	d, err := complaints.Directory(r.Context(), s.db, r.Device.Region, s.cfg.Terminal.ReplySalt)
	if err != nil {
		return err
	}
	if len(d.Bodies) == 0 {
		return qorgau.Errorf(qorgau.ENOTFOUND, "no recipient body of region %s has a key yet", r.Device.Region)
	}
	if s.cfg.Terminal.DirectorySigner == nil {
		return errors.New("web: no directory signing key configured")
	}
	b, err := seal.SignDirectory(d, s.cfg.Terminal.DirectorySigner)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}
