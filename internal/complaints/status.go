package complaints

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/tlog"
)

// KindStatus is the log record kind of a change of a complaint's state.
const KindStatus = "status"

// Transition moves a body's copy of a complaint to a new state: it appends
// a status leaf to the log first, so that the change is provable from the
// log ("no answer before day D"), then records the event and, for an
// answer, the sealed reply. A move the state machine forbids is ECONFLICT;
// a complaint not sent to the body is ENOTFOUND. Closing goes through
// Close, a reading at a kiosk through AnswerRead, which record their facts.
//
// The status leaf's object names the complaint, the body, the new state,
// the actor, the time and the SHA-256 of the sealed reply, if any.
func (s *Service) Transition(ctx context.Context, complaint int64, body string, to qorgau.ComplaintState, actor string, reply []byte) error {
	return s.transition(ctx, &store.ComplaintEvent{Complaint: complaint, Body: body, Actor: actor, State: to}, reply)
}

// Close closes a body's copy with an outcome and the kinds of evidence the
// body considered; an unknown outcome or kind is EINVALID. See Transition.
func (s *Service) Close(ctx context.Context, complaint int64, body, actor string, outcome qorgau.Outcome, evidence []qorgau.Evidence) error {
	if !slices.Contains(qorgau.Outcomes, outcome) {
		return qorgau.Errorf(qorgau.EINVALID, "choose an outcome")
	}
	for _, e := range evidence {
		if !slices.Contains(qorgau.EvidenceKinds, e) {
			return qorgau.Errorf(qorgau.EINVALID, "unknown kind of evidence %q", e)
		}
	}
	return s.transition(ctx, &store.ComplaintEvent{Complaint: complaint, Body: body, Actor: actor, State: qorgau.StateClosed,
		Outcome: outcome, Evidence: slices.Clone(evidence)}, nil)
}

// AnswerRead records that the complainant read a body's answer at the
// terminal device. See Transition.
func (s *Service) AnswerRead(ctx context.Context, complaint int64, body, device string) error {
	return s.transition(ctx, &store.ComplaintEvent{Complaint: complaint, Body: body, Actor: "complainant",
		State: qorgau.StateAnswerDelivered, Device: device}, nil)
}

func (s *Service) transition(ctx context.Context, ev *store.ComplaintEvent, reply []byte) error {
	c, err := s.DB.Complaint(ctx, ev.Complaint)
	if err != nil {
		return err
	}
	var from qorgau.ComplaintState
	for _, b := range c.Bodies {
		if b.Body == ev.Body {
			from = b.State
		}
	}
	if from == "" {
		return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d was not sent to %s", ev.Complaint, ev.Body)
	}
	if !from.CanBecome(ev.State) {
		return qorgau.Errorf(qorgau.ECONFLICT, "complaint %d is %s for %s and cannot become %s", ev.Complaint, from, ev.Body, ev.State)
	}
	return s.record(ctx, ev, from, reply)
}

// Extend extends a copy's term to newDue by a motivated decision. The
// extensions together may not reach past the original term by more than
// Rules.MaxExtension; the reason is required. The complainant sees the new
// term at a kiosk.
func (s *Service) Extend(ctx context.Context, complaint int64, body string, newDue time.Time, actor, reason string) error {
	if len(reason) < 10 {
		return qorgau.Errorf(qorgau.EINVALID, "an extension needs a motivated reason")
	}
	c, err := s.DB.Complaint(ctx, complaint)
	if err != nil {
		return err
	}
	var mine *store.ComplaintBody
	for i := range c.Bodies {
		if c.Bodies[i].Body == body {
			mine = &c.Bodies[i]
		}
	}
	if mine == nil {
		return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d was not sent to %s", complaint, body)
	}
	original := s.Rules.Due(s.Calendar, mine.Delivered)
	if !newDue.After(mine.Due) {
		return qorgau.Errorf(qorgau.EINVALID, "the new term must end after the current one (%s)", mine.Due.Format("2006-01-02"))
	}
	if newDue.After(original.Add(s.Rules.MaxExtension)) {
		return qorgau.Errorf(qorgau.EINVALID, "the term may be extended to %s at the latest", original.Add(s.Rules.MaxExtension).Format("2006-01-02"))
	}
	if !mine.State.CanBecome(qorgau.StateExtended) {
		return qorgau.Errorf(qorgau.ECONFLICT, "complaint %d is %s for %s and cannot be extended", complaint, mine.State, body)
	}
	return s.record(ctx, &store.ComplaintEvent{Complaint: complaint, Body: body, Actor: actor, State: qorgau.StateExtended,
		Term: s.lastDay(newDue), Reason: reason, NewDue: newDue}, mine.State, nil)
}

// Event records an event that leaves the state as it is, such as
// qorgau.EventAppealed, with its status leaf; reason is the actor's own
// words, if any.
func (s *Service) Event(ctx context.Context, complaint int64, body, event, actor, reason string) error {
	return s.record(ctx, &store.ComplaintEvent{Complaint: complaint, Body: body, Actor: actor, Event: event, Reason: reason}, "", nil)
}

// appendStatus appends a status leaf for a body's copy of a complaint:
// "qorgau-status/v1", the complaint and the body, then lines, one
// "name value" each, and returns its index in the log.
func (s *Service) appendStatus(ctx context.Context, complaint int64, body string, lines ...string) (int64, error) {
	object := fmt.Appendf(nil, "qorgau-status/v1\ncomplaint %d\nbody %s\n", complaint, body)
	for _, l := range lines {
		object = append(append(object, l...), '\n')
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	receipt, err := s.Log.Append(ctx, tlog.Entry{
		Kind:          KindStatus,
		IdempotencyID: fmt.Sprintf("status:%d:%s:%x", complaint, body, nonce),
		Object:        object,
	})
	if err != nil {
		return 0, err
	}
	return receipt.Index, nil
}

// record appends the status leaf of ev, then stores ev (and reply).
func (s *Service) record(ctx context.Context, ev *store.ComplaintEvent, from qorgau.ComplaintState, reply []byte) error {
	now := s.now().UTC()
	var replyHash string
	if reply != nil {
		sum := sha256.Sum256(reply)
		replyHash = hex.EncodeToString(sum[:])
	}
	what := "state " + string(ev.State)
	if ev.Event != "" {
		what = "event " + ev.Event
	}
	index, err := s.appendStatus(ctx, ev.Complaint, ev.Body, "from "+string(from), what, "actor "+ev.Actor,
		fmt.Sprint("at ", now.Unix()), "reply "+replyHash)
	if err != nil {
		return err
	}
	ev.At, ev.LogIndex = now, index
	var r *store.Reply
	if reply != nil {
		r = &store.Reply{Complaint: ev.Complaint, Body: ev.Body, At: now, Author: ev.Actor, Ciphertext: reply, LogIndex: index}
	}
	return s.DB.RecordEvent(ctx, ev, r)
}

// SweepDeadlines records an overdue event, in the log and the store, for
// every copy whose term has passed unanswered: in law, a refusal the
// complainant may appeal. It returns how many it recorded. On a standby
// of the log (several servers on one database) it records none and
// returns 0: the sequencer records them, and here the append would only
// fail with EUNAVAILABLE.
func (s *Service) SweepDeadlines(ctx context.Context) (int, error) {
	if s.Log.IsStandby() {
		return 0, nil
	}
	list, err := s.DB.NewlyOverdue(ctx, s.now(), 1000)
	if err != nil {
		return 0, err
	}
	for i, o := range list {
		if err := s.record(ctx, &store.ComplaintEvent{Complaint: o.Complaint, Body: o.Body, Actor: "system",
			Event: qorgau.EventOverdue, Term: s.lastDay(o.Due)}, "", nil); err != nil {
			return i, err
		}
	}
	return len(list), nil
}

// lastDay returns the last day, YYYY-MM-DD in the calendar's zone, of a
// term that ends at due: a term ends at midnight, after its last day.
func (s *Service) lastDay(due time.Time) string {
	loc := time.UTC
	if s.Calendar != nil && s.Calendar.Location != nil {
		loc = s.Calendar.Location
	}
	return due.Add(-time.Nanosecond).In(loc).Format("2006-01-02")
}

// RunDeadlines sweeps deadlines every interval until ctx is cancelled.
func (s *Service) RunDeadlines(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.SweepDeadlines(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Error("deadline sweep", "err", err)
		} else if n > 0 {
			s.Logger.Warn("complaints overdue: no answer within the term", "count", n)
		}
		if _, err := s.NotifyDeadlines(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Error("deadline notices", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Redirect sends a complaint on from one body to the competent one: the
// document, opened in the redirecting member's session, is sealed anew to
// the new body's key and the complainant's reply key; the old copy becomes
// redirected and the new body gets its copy with its own term. The change
// is a status leaf of the log, naming the SHA-256 of the new copy.
func (s *Service) Redirect(ctx context.Context, complaint int64, from, to string, doc *seal.Document, actor, reason string) error {
	if len(reason) < 10 {
		return qorgau.Errorf(qorgau.EINVALID, "a redirection needs a reason")
	}
	if from == to {
		return qorgau.Errorf(qorgau.EINVALID, "a complaint is redirected to another body")
	}
	key, err := s.DB.CurrentBodyKey(ctx, to)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		return qorgau.Errorf(qorgau.EINVALID, "body %q has no key: it cannot receive complaints yet", to)
	} else if err != nil {
		return err
	}
	rcpt, err := seal.ParseRecipient(key.Recipient)
	if err != nil {
		return err
	}
	recipients := []age.Recipient{rcpt}
	if doc.Reply != nil {
		if r, err := seal.ParseRecipient(doc.Reply.Recipient); err == nil {
			recipients = append(recipients, r)
		}
	}
	copyCT, err := seal.Reseal(doc, recipients...)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	sum := sha256.Sum256(copyCT)
	index, err := s.appendStatus(ctx, complaint, from, "state "+string(qorgau.StateRedirected), "to "+to, "actor "+actor,
		fmt.Sprint("at ", now.Unix()), "copy "+hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	return s.DB.Redirect(ctx,
		&store.ComplaintEvent{Complaint: complaint, Body: from, At: now, Actor: actor, To: to, Reason: reason, LogIndex: index},
		&store.ComplaintCopy{Complaint: complaint, Body: to, FromBody: from, Ciphertext: copyCT, Created: now, LogIndex: index},
		s.Rules.Due(s.Calendar, now))
}
