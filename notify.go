package qorgau

import (
	"context"
	"slices"
	"time"
)

// NoticeKind is what a staff notification is about.
type NoticeKind string

// Notice kinds.
const (
	NoticeDueSoon       NoticeKind = "due_soon"       // a complaint's answer is due within the warning window
	NoticeOverdue       NoticeKind = "overdue"        // a complaint's answer is late
	NoticeTerminalDown  NoticeKind = "terminal_down"  // a terminal is down longer than the threshold in required hours
	NoticeBelowTarget   NoticeKind = "below_target"   // a facility's availability fell below its target
	NoticeLogRollback   NoticeKind = "log_rollback"   // a terminal has seen a larger log than the server serves
	NoticeTamper        NoticeKind = "tamper"         // a terminal's case was opened
	NoticeMaintenance   NoticeKind = "maintenance"    // a facility declared maintenance
	NoticeTestDelivered NoticeKind = "test_delivered" // a monitor's test complaint arrived
)

// Notice is a message to the members of oversight bodies: shown in the
// console, and sent by email and webhook where configured. It never holds
// complaint content or a complainant's identity.
type Notice struct {
	ID       int64
	Time     time.Time
	Kind     NoticeKind
	Bodies   []string // body codes whose members are told
	Region   string   // region code, if any
	Facility string   // facility code, if any
	Device   string   // device id, if any
	// Complaint is set for due_soon and overdue.
	Complaint int64
	// Key identifies the situation, so that the same alert is raised once:
	// e.g. "terminal_down/T-001/2026-11-23T10:00:00Z".
	Key string
	// Text is a short plain-language summary in English for email and
	// webhooks; the console renders its own text from the fields in the
	// reader's language.
	Text string
}

// Notifier delivers notices. Implementations store them for the console
// and send email and webhooks; Notify must not block for long.
type Notifier interface {
	Notify(ctx context.Context, n *Notice) error
}

// NoticeKinds lists every notice kind.
var NoticeKinds = []NoticeKind{NoticeDueSoon, NoticeOverdue, NoticeTerminalDown, NoticeBelowTarget,
	NoticeLogRollback, NoticeTamper, NoticeMaintenance, NoticeTestDelivered}

// Validate returns an EINVALID error naming the first bad field: a notice
// has a known kind, a key, at least one body, and a short text.
func (n *Notice) Validate() error {
	if !slices.Contains(NoticeKinds, n.Kind) {
		return Errorf(EINVALID, "notice kind %q is not one of %s", n.Kind, joinKinds(NoticeKinds))
	}
	if n.Key == "" || len(n.Key) > 300 {
		return Errorf(EINVALID, "a notice needs a key of at most 300 bytes")
	}
	if len(n.Bodies) == 0 {
		return Errorf(EINVALID, "a notice is addressed to at least one body")
	}
	if len(n.Text) > 1000 {
		return Errorf(EINVALID, "a notice's text is longer than 1000 bytes")
	}
	return nil
}
