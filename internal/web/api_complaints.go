package web

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

// The staff JSON API (/api/v1/…) does what the console does, with the same
// route table and the same session: a client signs in through /login like
// a browser. Every answer is JSON; errors are {"error","message"}.

type apiInboxItem struct {
	ID       int64     `json:"id"`
	Facility string    `json:"facility"`
	Category string    `json:"category"`
	Urgent   bool      `json:"urgent"`
	Test     bool      `json:"test"`
	Received time.Time `json:"received"`
	State    string    `json:"state"`
	Due      time.Time `json:"due"`
	DaysLeft int       `json:"working_days_left"`
	Overdue  bool      `json:"overdue"`
}

func (s *Server) apiInbox(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", apiInboxMax, 1, apiInboxMax)
	if err != nil {
		return err
	}
	offset, err := intParam(q, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	rows, more, err := s.inboxRows(r, limit, offset)
	if err != nil {
		return err
	}
	out := make([]apiInboxItem, len(rows))
	for i, it := range rows {
		out[i] = apiInboxItem{it.ID, it.Facility, string(it.Category), it.Urgent, it.Test, it.Received, string(it.State), it.Due, it.DaysLeft, it.Overdue}
	}
	answer := map[string]any{"body": r.User.Body, "complaints": out}
	if more {
		// The same filters, from the first row this answer left out.
		q.Set("offset", strconv.Itoa(offset+limit))
		answer["next"] = "/api/v1/inbox?" + q.Encode()
	}
	return writeJSON(w, http.StatusOK, answer)
}

// apiInboxMax is the most rows one answer of the inbox API holds.
const apiInboxMax = 1000

type apiReply struct {
	At     time.Time `json:"at"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

type apiEvent struct {
	At       time.Time `json:"at"`
	Body     string    `json:"body"`
	State    string    `json:"state"`
	Event    string    `json:"event,omitempty"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason,omitempty"`   // the member's own words
	Term     string    `json:"term,omitempty"`     // YYYY-MM-DD: extended or missed term
	To       string    `json:"to,omitempty"`       // a redirection's new body
	Outcome  string    `json:"outcome,omitempty"`  // a closing's outcome
	Evidence []string  `json:"evidence,omitempty"` // kinds of evidence considered
	Device   string    `json:"device,omitempty"`   // where the answer was read
	LogIndex int64     `json:"log_index"`
}

// apiComplaint decrypts a complaint for a member of a body it was sent to,
// as the console page does: audited first.
func (s *Server) apiComplaint(w http.ResponseWriter, r *request) error {
	rd, err := s.readComplaint(r, "through the API")
	if err != nil {
		return err
	}
	id, doc, c, mine := rd.id, rd.doc, rd.c, rd.mine
	replies := []apiReply{}
	for _, rp := range rd.replies {
		replies = append(replies, apiReply{rp.At, rp.Author, rp.Text})
	}
	events := []apiEvent{}
	for _, e := range rd.events {
		ae := apiEvent{At: e.At, Body: e.Body, State: string(e.State), Event: e.Event, Actor: e.Actor, Reason: e.Reason,
			Term: e.Term, To: e.To, Outcome: string(e.Outcome), Device: e.Device, LogIndex: e.LogIndex}
		for _, k := range e.Evidence {
			ae.Evidence = append(ae.Evidence, string(k))
		}
		events = append(events, ae)
	}
	doc.Voice = nil // large; fetched on its own when played
	left, overdue, _ := s.clock(mine.Due)
	var coding *apiCoding
	if k, err := s.db.Coding(r.Context(), id, r.User.Body); err == nil {
		ac := toAPICoding(k)
		coding = &ac
	} else if qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"id": c.ID, "facility": c.Facility, "urgent": c.Urgent, "received": c.Received,
		"state": mine.State, "due": mine.Due, "working_days_left": left, "overdue": overdue,
		"document": doc, "replies": replies, "events": events, "coding": coding,
	})
}

// apiReplyTo answers the complainant: {"text": "…"}.
func (s *Server) apiReplyTo(w http.ResponseWriter, r *request) error {
	var req struct {
		Text string `json:"text"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return s.apiAction(w, r, func(id int64) error { return s.reply(r, id, req.Text) })
}

// apiExtend extends the term: {"until": "2026-12-31", "reason": "…"}.
func (s *Server) apiExtend(w http.ResponseWriter, r *request) error {
	var req struct {
		Until  string `json:"until"`
		Reason string `json:"reason"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return s.apiAction(w, r, func(id int64) error { return s.extend(r, id, req.Until, req.Reason) })
}

// apiClose closes the copy: {"outcome": "upheld", "evidence": ["medical"]}.
func (s *Server) apiClose(w http.ResponseWriter, r *request) error {
	var req struct {
		Outcome  string   `json:"outcome"`
		Evidence []string `json:"evidence"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return s.apiAction(w, r, func(id int64) error { return s.closeCopy(r, id, req.Outcome, req.Evidence) })
}

// apiRedirect sends the complaint to the competent body:
// {"to": "PROS-KZ-71", "reason": "…"}.
func (s *Server) apiRedirect(w http.ResponseWriter, r *request) error {
	var req struct {
		To     string `json:"to"`
		Reason string `json:"reason"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return s.apiAction(w, r, func(id int64) error { return s.redirect(r, id, req.To, req.Reason) })
}

// apiAssign assigns the body's copy: {"member": "aigerim"}, "" for no one.
func (s *Server) apiAssign(w http.ResponseWriter, r *request) error {
	var req struct {
		Member string `json:"member"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return s.apiAction(w, r, func(id int64) error { return s.assign(r, id, req.Member) })
}

// apiClearFlag asks to clear the torture flag: {"reason": "…"}.
func (s *Server) apiClearFlag(w http.ResponseWriter, r *request) error {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return s.apiAction(w, r, func(id int64) error { return s.requestClearing(r, id, req.Reason) })
}

// apiApproveClear is a second member's approval of clearing the flag.
func (s *Server) apiApproveClear(w http.ResponseWriter, r *request) error {
	return s.apiAction(w, r, func(id int64) error { return s.approveClearing(r, id) })
}

// apiAction checks the complaint belongs to the member's body, runs act and
// answers with the copy's new state.
func (s *Server) apiAction(w http.ResponseWriter, r *request, act func(id int64) error) error {
	id, err := s.memberComplaint(r)
	if err != nil {
		return err
	}
	if err := act(id); err != nil {
		return err
	}
	c, err := s.db.Complaint(r.Context(), id)
	if err != nil {
		return err
	}
	for _, b := range c.Bodies {
		if b.Body == r.User.Body {
			return writeJSON(w, http.StatusOK, map[string]any{"id": id, "state": b.State, "due": b.Due})
		}
	}
	return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d not found", id)
}

// reply seals text to the complainant's reply key and the body's key and
// records the answer.
func (s *Server) reply(r *request, id int64, text string) error {
	doc, _, _, err := s.openForMember(r, id, "to reply")
	if err != nil {
		return err
	}
	if doc.Reply == nil {
		return qorgau.Errorf(qorgau.EINVALID, "this complaint carries no reply key: the complainant cannot be answered through a kiosk")
	}
	to, err := seal.ParseRecipient(doc.Reply.Recipient)
	if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "the complaint's reply key is malformed")
	}
	bk, err := s.db.CurrentBodyKey(r.Context(), r.User.Body)
	if err != nil {
		return err
	}
	own, err := seal.ParseRecipient(bk.Recipient)
	if err != nil {
		return err
	}
	sealed, err := seal.SealReply(text, to, own)
	if err != nil {
		return err
	}
	return s.cfg.Complaints.Transition(r.Context(), id, r.User.Body, qorgau.StateAnswered, r.User.Name, sealed)
}

// extend extends the term to the end of the day until (YYYY-MM-DD).
func (s *Server) extend(r *request, id int64, until, reason string) error {
	day, err := time.ParseInLocation("2006-01-02", until, s.cfg.Complaints.Calendar.Location)
	if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "the new term must be a date YYYY-MM-DD")
	}
	return s.cfg.Complaints.Extend(r.Context(), id, r.User.Body, day.AddDate(0, 0, 1), r.User.Name, strings.TrimSpace(reason))
}

// closeCopy closes the body's copy with an outcome and the evidence
// considered.
func (s *Server) closeCopy(r *request, id int64, outcome string, evidence []string) error {
	kinds := make([]qorgau.Evidence, len(evidence))
	for i, e := range evidence {
		kinds[i] = qorgau.Evidence(e)
	}
	return s.cfg.Complaints.Close(r.Context(), id, r.User.Body, r.User.Name, qorgau.Outcome(outcome), kinds)
}

// apiStats is the public statistics as JSON.
func (s *Server) apiStats(w http.ResponseWriter, r *request) error {
	rows, err := s.db.ComplaintStats(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tabulate(rows))
}

// apiOpenAPI serves the API's description.
func (s *Server) apiOpenAPI(w http.ResponseWriter, r *request) error {
	b, err := assets.ReadFile("static/openapi.json")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write(b)
	return err
}
