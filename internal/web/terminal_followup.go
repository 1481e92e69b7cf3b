package web

import (
	"net/http"
	"slices"
	"strconv"

	"qorgau.kz/qorgau"
)

// lookupID checks a lookup id's form (qorgau.ValidLookupID), derived from
// a receipt code. Only someone holding the code can name it.
func lookupID(v string) (string, error) {
	if !qorgau.ValidLookupID(v) {
		return "", qorgau.Errorf(qorgau.EINVALID, "lookup id must be 32 lower-case hex digits")
	}
	return v, nil
}

// terminalFollowup answers "check an answer" at a kiosk: the status history
// and sealed replies of the complaints filed under a receipt code's lookup
// id. The kiosk decrypts the replies with the key it derives from the code.
func (s *Server) terminalFollowup(w http.ResponseWriter, r *request) error {
	lookup, err := lookupID(r.PathValue("lookup"))
	if err != nil {
		return err
	}
	ids, err := s.db.ComplaintIDsByLookup(r.Context(), lookup)
	if err != nil {
		return err
	}
	out := []qorgau.FollowupComplaint{}
	for _, id := range ids {
		c, err := s.db.Complaint(r.Context(), id)
		if err != nil {
			return err
		}
		fc := qorgau.FollowupComplaint{ID: id, Received: c.Received, Bodies: map[string]string{}}
		// Each copy's history starts with its delivery to the body's
		// inbox, which is not an event of its own.
		for _, b := range c.Bodies {
			fc.Bodies[b.Body] = string(b.State)
			if !b.Delivered.IsZero() {
				fc.Events = append(fc.Events, qorgau.FollowupEvent{Body: b.Body, At: b.Delivered, State: string(qorgau.StateDelivered)})
			}
		}
		events, err := s.db.ComplaintEvents(r.Context(), id)
		if err != nil {
			return err
		}
		for _, e := range events {
			state := string(e.State)
			switch {
			case e.Event == qorgau.EventOverdue:
				// The term passed unanswered: in law a refusal, which the
				// person may appeal; they must be able to see it.
				state = qorgau.EventOverdue
			case e.Event != "":
				continue // the body's own bookkeeping
			}
			fe := qorgau.FollowupEvent{Body: e.Body, At: e.At, State: state, Term: e.Term, To: e.To, Outcome: string(e.Outcome)}
			for _, k := range e.Evidence {
				fe.Evidence = append(fe.Evidence, string(k))
			}
			fc.Events = append(fc.Events, fe)
		}
		slices.SortStableFunc(fc.Events, func(a, b qorgau.FollowupEvent) int { return a.At.Compare(b.At) })
		replies, err := s.db.Replies(r.Context(), id)
		if err != nil {
			return err
		}
		for _, rp := range replies {
			if len(rp.Ciphertext) == 0 {
				continue // erased with the complaint (qorgau admin log erase)
			}
			fc.Replies = append(fc.Replies, qorgau.FollowupReply{Body: rp.Body, At: rp.At, Ciphertext: rp.Ciphertext})
		}
		out = append(out, fc)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"complaints": out})
}

// terminalAnswerRead records that the complainant read the answers at a
// kiosk: every answered copy becomes answer-delivered. The lookup id in the
// body proves the reader holds the receipt code.
func (s *Server) terminalAnswerRead(w http.ResponseWriter, r *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return qorgau.Errorf(qorgau.EINVALID, "complaint id must be a number")
	}
	var req struct {
		Lookup string `json:"lookup"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	// The form is checked before the complaint is read: a missing or
	// malformed id is the caller's mistake, and saying so tells nothing
	// about the complaint.
	if _, err := lookupID(req.Lookup); err != nil {
		return err
	}
	c, err := s.db.Complaint(r.Context(), id)
	if err != nil {
		return err
	}
	if req.Lookup != c.LookupID {
		// Not this code's: answer as if it did not exist.
		return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d not found", id)
	}
	delivered := []string{} // [] rather than null when nothing was waiting
	for _, b := range c.Bodies {
		if b.State != qorgau.StateAnswered {
			continue
		}
		if err := s.cfg.Complaints.AnswerRead(r.Context(), id, b.Body, r.Device.Device); err != nil {
			return err
		}
		delivered = append(delivered, b.Body)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"complaint": id, "delivered": delivered})
}
