package kiosk

import (
	"context"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

// Backend is what the kiosk UI (served on loopback to a browser in kiosk
// mode) needs from the agent. The agent implements it over the terminal
// API, its outbox and its journal; UI tests may implement it in memory.
// Nothing a person writes is kept after the call returns: Send seals the
// draft and queues only the envelope.
type Backend interface {
	// Info is what the screens show: the facility, its zones and the
	// bodies of the signed directory.
	Info(ctx context.Context) (*Info, error)
	// Send seals the draft to the chosen bodies and queues it for delivery.
	// It returns at once, online or not, with the receipt code. A test
	// complaint whose code the server refuses is ErrTestCode, and nothing
	// is queued.
	Send(ctx context.Context, d *Draft) (*Sent, error)
	// CheckTestCode asks whether a monitor's test code can be used: nil if
	// so, ErrTestCode if the server refuses it, another error (ErrOffline)
	// if it cannot be asked now; Send asks again.
	CheckTestCode(ctx context.Context, code string) error
	// Check fetches and decrypts the status history and answers of the
	// complaints filed under a receipt code. An unknown code is ENOTFOUND.
	Check(ctx context.Context, code string) ([]Answer, error)
	// Read confirms that the person read the answers to a complaint.
	Read(ctx context.Context, code string, complaint int64) error
	// Step counts, anonymously, that a person reached a step of the flow
	// (one of qorgau.KioskSteps); Abandon that a session ended there.
	Step(step string)
	Abandon(step string)
}

// Info describes this kiosk for its screens.
type Info struct {
	Device   string
	Facility string       // facility code
	Name     string       // facility name
	Zones    []InfoZone   // the facility's zones
	Bodies   []InfoBody   // from the signed directory, sorted by code
	Online   bool         // the last request to the server succeeded
	Outbox   int          // envelopes waiting
	Printer  bool         // a receipt printer is configured
	Updated  time.Time    // when the directory was last fetched
	Extra    *InfoDefault // routing the server adds, for the review screen
}

// InfoZone is a zone of the facility.
type InfoZone struct {
	Code string
	Name string
	Kind qorgau.ZoneKind
}

// InfoBody is a body the person can write to.
type InfoBody struct {
	Code   string
	Kind   qorgau.BodyKind
	Names  map[string]string // by language: kk, ru, en
	Region string            // empty for national bodies
}

// InfoDefault says which bodies always receive a torture complaint.
type InfoDefault struct {
	TortureBodies []string
}

// Draft is what a person composed, held in memory only until Send.
type Draft struct {
	Lang     string // kk, ru or en
	Kind     string // seal.Kind*; the kiosk sends complaints
	Bodies   []string
	Category qorgau.Category
	Zone     string // zone code, or empty
	// When is "today", "yesterday", "week" or "earlier"; PartOfDay is
	// "morning", "day", "evening", "night" or empty. The agent turns them
	// into the document's incident window on the kiosk's clock.
	When      string
	PartOfDay string
	Text      string
	Voice     *seal.Voice
	Identity  *seal.Identity // nil: anonymous
	Urgent    bool
	// TestCode is a monitor's one-time test code; a draft with one is sent
	// as a marked test complaint.
	TestCode string
}

// Sent is what the receipt screen shows.
type Sent struct {
	Code    string // the 16-digit receipt code, formatted in groups
	Queued  bool   // not yet delivered: the terminal is offline
	Printed bool   // a receipt was printed
}

// Answer is one complaint filed under a receipt code, decrypted for the
// person who holds the code.
type Answer struct {
	Complaint int64
	Filed     time.Time
	Bodies    []string
	State     qorgau.ComplaintState
	History   []AnswerEvent
	Replies   []AnswerReply
	Read      bool // the person already confirmed reading
	// Queued is an envelope under this code still waiting in the
	// terminal's outbox: the server has not received it yet, so only this
	// field is set.
	Queued bool
}

// AnswerEvent is one state change, with the facts the kiosk words in the
// person's language.
type AnswerEvent struct {
	Time     time.Time
	State    qorgau.ComplaintState // or qorgau.EventOverdue
	Body     string
	Term     time.Time // last day of an extended or missed term; zero if none
	To       string    // the body a complaint was redirected to
	Outcome  qorgau.Outcome
	Evidence []qorgau.Evidence
}

// AnswerReply is a decrypted answer from a body.
type AnswerReply struct {
	Time time.Time
	Body string
	Text string
}
