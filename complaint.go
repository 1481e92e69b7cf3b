package qorgau

import (
	"slices"
	"time"
)

// ComplaintState is where a complaint stands. Every change of state is
// timestamped, attributed and appended to the log as a status leaf, so that
// "no answer before day D" can be proven from the log.
type ComplaintState string

// Complaint states, in the order a complaint normally goes through them.
const (
	StateFiled           ComplaintState = "filed"            // accepted by the server, receipt issued
	StateDelivered       ComplaintState = "delivered"        // the recipient body has it in its inbox
	StateRegistered      ComplaintState = "registered"       // the body registered it (opened and numbered)
	StateUnderReview     ComplaintState = "under-review"     // a member works on it
	StateRedirected      ComplaintState = "redirected"       // sent on to the competent body
	StateExtended        ComplaintState = "extended"         // term extended by a motivated decision
	StateAnswered        ComplaintState = "answered"         // a reply was written
	StateAnswerDelivered ComplaintState = "answer-delivered" // the complainant read the reply at a kiosk
	StateClosed          ComplaintState = "closed"
)

// ComplaintStates lists every state in order.
var ComplaintStates = []ComplaintState{
	StateFiled, StateDelivered, StateRegistered, StateUnderReview, StateRedirected,
	StateExtended, StateAnswered, StateAnswerDelivered, StateClosed,
}

// transitions lists the states each state may move to. Overdue and appealed
// are events, not states: they are recorded without changing the state.
var transitions = map[ComplaintState][]ComplaintState{
	StateFiled:           {StateDelivered},
	StateDelivered:       {StateRegistered, StateRedirected},
	StateRegistered:      {StateUnderReview, StateRedirected, StateExtended, StateAnswered},
	StateUnderReview:     {StateRedirected, StateExtended, StateAnswered},
	StateExtended:        {StateUnderReview, StateRedirected, StateAnswered, StateExtended},
	StateRedirected:      {StateClosed},
	StateAnswered:        {StateAnswerDelivered, StateClosed},
	StateAnswerDelivered: {StateClosed},
	StateClosed:          {},
}

// CanBecome reports whether a complaint in state s may move to state t.
func (s ComplaintState) CanBecome(t ComplaintState) bool {
	return slices.Contains(transitions[s], t)
}

// Complaint events that are recorded without a change of state.
const (
	EventOverdue  = "overdue"  // the term passed without an answer: a refusal in law
	EventDueSoon  = "due-soon" // the term ends within Rules.DueSoonDays
	EventAppealed = "appealed" // the complainant appealed the answer or the silence
)

// AppealKind is the legal kind of an appeal.
type AppealKind string

// Appeal kinds (предложение, заявление, ходатайство, жалоба).
const (
	AppealProposal  AppealKind = "proposal"
	AppealStatement AppealKind = "statement"
	AppealPetition  AppealKind = "petition"
	AppealComplaint AppealKind = "complaint"
)

// AppealKinds lists every appeal kind.
var AppealKinds = []AppealKind{AppealProposal, AppealStatement, AppealPetition, AppealComplaint}

// Category is what a complaint is about, as the kiosk's pictograms offer it
// and as the recipient codes it after reading.
type Category string

// Categories.
const (
	CategoryTorture          Category = "torture"           // torture or ill-treatment: the urgent track
	CategoryViolenceStaff    Category = "violence-staff"    // violence by staff
	CategoryViolencePrisoner Category = "violence-prisoner" // violence by other prisoners
	CategoryThreats          Category = "threats"           // threats, extortion, reprisals
	CategoryMedical          Category = "medical"           // medical care
	CategoryConditions       Category = "conditions"        // food and conditions
	CategoryContact          Category = "contact"           // visits and correspondence
	CategoryLegal            Category = "legal"             // legal process, lawyer, sentence
	CategoryDiscrimination   Category = "discrimination"
	CategoryOther            Category = "other"
)

// Categories lists every category in the kiosk's order.
var Categories = []Category{
	CategoryTorture, CategoryViolenceStaff, CategoryViolencePrisoner, CategoryThreats, CategoryMedical,
	CategoryConditions, CategoryContact, CategoryLegal, CategoryDiscrimination, CategoryOther,
}

// Outcome is how a body closed its copy of a complaint.
type Outcome string

// Outcomes.
const (
	OutcomeUpheld       Outcome = "upheld"
	OutcomePartly       Outcome = "partly-upheld"
	OutcomeRejected     Outcome = "rejected"
	OutcomeNotCompetent Outcome = "not-competent"
	OutcomeWithdrawn    Outcome = "withdrawn"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeUpheld, OutcomePartly, OutcomeRejected, OutcomeNotCompetent, OutcomeWithdrawn}

// Evidence is a kind of evidence a body considered before closing.
type Evidence string

// Kinds of evidence.
const (
	EvidenceFootage   Evidence = "footage"
	EvidenceMedical   Evidence = "medical"
	EvidenceWitnesses Evidence = "witnesses"
	EvidenceDocuments Evidence = "documents"
	EvidenceVisit     Evidence = "visit"
)

// EvidenceKinds lists every kind of evidence.
var EvidenceKinds = []Evidence{EvidenceFootage, EvidenceMedical, EvidenceWitnesses, EvidenceDocuments, EvidenceVisit}

// IsUrgent reports whether the category is on the urgent track, which goes
// in parallel to the bodies of Rules.UrgentBodies.
func (c Category) IsUrgent() bool {
	return c == CategoryTorture || c == CategoryViolenceStaff
}

// Rules is the configurable rule set of complaints. KazakhstanRules returns
// the default; another jurisdiction changes the numbers, not the code.
type Rules struct {
	// AnswerDays is the term to answer, in working days from delivery.
	AnswerDays int
	// MaxExtension bounds every extension together, from the original due
	// date.
	MaxExtension time.Duration
	// ExtensionNoticeDays is the term to tell the complainant of an
	// extension, in working days.
	ExtensionNoticeDays int
	// RedirectDays is the term to redirect a complaint the body is not
	// competent for, in working days.
	RedirectDays int
	// DueSoonDays is how many working days before the due date a complaint
	// is flagged as due soon.
	DueSoonDays int
	// UrgentBodies are the kinds of body that receive every urgent
	// complaint in parallel, whatever the person chose.
	UrgentBodies []BodyKind
}

// UrgentRecipients returns, for each kind of UrgentBodies, the region's
// body of that kind among bodies, or the national one when the region has
// none. The server routes by it; a kiosk shows it on the review screen.
func (r Rules) UrgentRecipients(bodies []Body, region string) []string {
	var out []string
	for _, kind := range r.UrgentBodies {
		var regional, national string
		for _, b := range bodies {
			if b.Kind != kind {
				continue
			}
			if b.Region == region && regional == "" {
				regional = b.Code
			}
			if b.Region == "" && national == "" {
				national = b.Code
			}
		}
		if regional != "" {
			out = append(out, regional)
		} else if national != "" {
			out = append(out, national)
		}
	}
	return out
}

// KazakhstanRules returns Kazakhstan's rules: 15 working days to answer, at
// most 2 months of extension, 3 working days to notify an extension or to
// redirect, and torture allegations to the prosecutor, the NPM and the
// ombudsman in parallel.
func KazakhstanRules() Rules {
	return Rules{
		AnswerDays:          15,
		MaxExtension:        61 * 24 * time.Hour,
		ExtensionNoticeDays: 3,
		RedirectDays:        3,
		DueSoonDays:         3,
		UrgentBodies:        []BodyKind{BodyProsecutor, BodyNPM, BodyOmbudsman},
	}
}

// Validate returns EINVALID if a term is not positive.
func (r *Rules) Validate() error {
	if r.AnswerDays < 1 || r.ExtensionNoticeDays < 1 || r.RedirectDays < 1 || r.DueSoonDays < 0 || r.MaxExtension < 0 {
		return Errorf(EINVALID, "complaint rules: terms must be positive")
	}
	for _, k := range r.UrgentBodies {
		if !slices.Contains(BodyKinds, k) {
			return Errorf(EINVALID, "complaint rules: urgent body kind %q is not one of %s", k, joinKinds(BodyKinds))
		}
	}
	return nil
}

// Due returns when the answer to a complaint delivered at delivered is due
// under the rules and the calendar.
func (r *Rules) Due(cal *Calendar, delivered time.Time) time.Time {
	return cal.AddWorkingDays(delivered, r.AnswerDays)
}
