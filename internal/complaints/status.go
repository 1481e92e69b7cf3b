package complaints

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/tlog"
)

// KindStatus is the log record kind of a change of a complaint's state.
const KindStatus = "status"

// Transition moves a body's copy of a complaint to a new state: it appends
// a status leaf to the log first, so that the change is provable from the
// log ("no answer before day D"), then records the event and, for an
// answer, the sealed reply. A move the state machine forbids is ECONFLICT;
// a complaint not sent to the body is ENOTFOUND.
//
// The status leaf's object names the complaint, the body, the new state,
// the actor, the time and the SHA-256 of the sealed reply, if any.
func (s *Service) Transition(ctx context.Context, complaint int64, body string, to qorgau.ComplaintState, actor, detail string, reply []byte) error {
	c, err := s.DB.Complaint(ctx, complaint)
	if err != nil {
		return err
	}
	var from qorgau.ComplaintState
	for _, b := range c.Bodies {
		if b.Body == body {
			from = b.State
		}
	}
	if from == "" {
		return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d was not sent to %s", complaint, body)
	}
	if !from.CanBecome(to) {
		return qorgau.Errorf(qorgau.ECONFLICT, "complaint %d is %s for %s and cannot become %s", complaint, from, body, to)
	}
	now := s.now().UTC()
	var replyHash string
	if reply != nil {
		sum := sha256.Sum256(reply)
		replyHash = hex.EncodeToString(sum[:])
	}
	object := fmt.Appendf(nil, "qorgau-status/v1\ncomplaint %d\nbody %s\nfrom %s\nstate %s\nactor %s\nat %d\nreply %s\n",
		complaint, body, from, to, actor, now.Unix(), replyHash)
	nonce := make([]byte, 8)
	rand.Read(nonce)
	receipt, err := s.Log.Append(ctx, tlog.Entry{
		Kind:          KindStatus,
		IdempotencyID: fmt.Sprintf("status:%d:%s:%s:%x", complaint, body, to, nonce),
		Object:        object,
	})
	if err != nil {
		return err
	}
	ev := &store.ComplaintEvent{Complaint: complaint, Body: body, At: now, Actor: actor, State: to, Detail: detail, LogIndex: receipt.Index}
	var r *store.Reply
	if reply != nil {
		r = &store.Reply{Complaint: complaint, Body: body, At: now, Author: actor, Ciphertext: reply, LogIndex: receipt.Index}
	}
	return s.DB.RecordEvent(ctx, ev, r)
}
