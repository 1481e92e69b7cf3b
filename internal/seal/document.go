package seal

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"qorgau.kz/qorgau"
)

// DocumentVersion is the version of the Document JSON this package writes.
const DocumentVersion = 1

// Kinds of appeal, as the law names them.
const (
	KindProposal  = "proposal"
	KindStatement = "statement"
	KindPetition  = "petition"
	KindComplaint = "complaint"
)

// Kinds lists the kinds of appeal.
var Kinds = []string{KindProposal, KindStatement, KindPetition, KindComplaint}

// Categories are what the person says the complaint is about. Recipients
// code their own category after reading; this one is the person's.
var Categories = func() []string {
	out := make([]string, len(qorgau.Categories))
	for i, c := range qorgau.Categories {
		out[i] = string(c)
	}
	return out
}()

// Document limits.
const (
	MaxText       = 1 << 20 // bytes of text
	MaxRecipients = 32      // bodies per complaint
)

// Document is what a person in custody writes at the kiosk. It is only ever
// stored and sent encrypted (see Seal); the server never sees it.
type Document struct {
	V        int    `json:"v"`    // DocumentVersion
	Kind     string `json:"kind"` // one of Kinds
	Category string `json:"category"`
	Text     string `json:"text,omitempty"`
	Lang     string `json:"lang"` // the kiosk language: kk, ru or en

	// Where and when it happened. Zone and the times are optional; Place
	// is the person's own words.
	Facility     string    `json:"facility"`
	Zone         string    `json:"zone,omitempty"`
	Place        string    `json:"place,omitempty"`
	IncidentFrom time.Time `json:"incident_from,omitzero"`
	IncidentTo   time.Time `json:"incident_to,omitzero"`

	// Bodies are the codes of every body the person chose, so that each
	// recipient sees who else received it.
	Bodies []string `json:"bodies"`
	// Urgent says the person is in danger now.
	Urgent bool `json:"urgent,omitempty"`
	// Test marks a complaint a monitor sends to check the whole path.
	Test bool `json:"test,omitempty"`
	// Written is the kiosk's clock when the person finished.
	Written time.Time `json:"written"`

	Identity *Identity `json:"identity,omitempty"` // nil: anonymous
	Voice    *Voice    `json:"voice,omitempty"`
	// Reply tells the bodies how to answer. Seal fills it in from
	// Options.Reply; nil means no follow-up is possible.
	Reply *ReplyTo `json:"reply,omitempty"`
}

// Identity is who the person is, if they chose to say.
type Identity struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date,omitempty"` // as the person gave it
	Detail    string `json:"detail,omitempty"`     // unit, cell, anything else
}

// Voice is a spoken complaint or an addition to the written one.
type Voice struct {
	Type string `json:"type"` // media type, e.g. "audio/webm; codecs=opus"
	Data []byte `json:"data"` // base64 in the JSON
}

// ReplyTo is where the bodies send an answer: the complainant's reply
// recipient (encrypt the reply to it and to the body's own key) and the
// lookup id under which the kiosk will ask for it.
type ReplyTo struct {
	Recipient string `json:"recipient"`
	LookupID  string `json:"lookup_id"`
}

// Validate returns an EINVALID error naming the first bad field. Seal calls
// it; Open does not, so that a document from a faulty kiosk is still read.
func (d *Document) Validate() error {
	if d.V != DocumentVersion {
		return qorgau.Errorf(qorgau.EINVALID, "document version %d, want %d", d.V, DocumentVersion)
	}
	if !slices.Contains(Kinds, d.Kind) {
		return qorgau.Errorf(qorgau.EINVALID, "kind %q is not one of %s", d.Kind, strings.Join(Kinds, ", "))
	}
	if !slices.Contains(Categories, d.Category) {
		return qorgau.Errorf(qorgau.EINVALID, "category %q is not one of %s", d.Category, strings.Join(Categories, ", "))
	}
	if strings.TrimSpace(d.Text) == "" && d.Voice == nil {
		return qorgau.Errorf(qorgau.EINVALID, "a complaint needs text or a voice recording")
	}
	if len(d.Text) > MaxText || !utf8.ValidString(d.Text) {
		return qorgau.Errorf(qorgau.EINVALID, "text must be UTF-8 of at most %d bytes", MaxText)
	}
	if !slices.Contains([]string{"kk", "ru", "en"}, d.Lang) {
		return qorgau.Errorf(qorgau.EINVALID, "language %q is not kk, ru or en", d.Lang)
	}
	if !qorgau.ValidCode(d.Facility) {
		return qorgau.Errorf(qorgau.EINVALID, "facility %q is not a registry code", d.Facility)
	}
	if d.Zone != "" && !qorgau.ValidCode(d.Zone) {
		return qorgau.Errorf(qorgau.EINVALID, "zone %q is not a registry code", d.Zone)
	}
	if len(d.Place) > 1000 {
		return qorgau.Errorf(qorgau.EINVALID, "place is longer than 1000 bytes")
	}
	if !d.IncidentFrom.IsZero() && !d.IncidentTo.IsZero() && d.IncidentTo.Before(d.IncidentFrom) {
		return qorgau.Errorf(qorgau.EINVALID, "the incident ends before it starts")
	}
	if len(d.Bodies) == 0 || len(d.Bodies) > MaxRecipients {
		return qorgau.Errorf(qorgau.EINVALID, "a complaint goes to 1 to %d bodies", MaxRecipients)
	}
	for i, b := range d.Bodies {
		if !qorgau.ValidCode(b) {
			return qorgau.Errorf(qorgau.EINVALID, "body %q is not a registry code", b)
		}
		if slices.Contains(d.Bodies[:i], b) {
			return qorgau.Errorf(qorgau.EINVALID, "body %s is named twice", b)
		}
	}
	if d.Written.IsZero() {
		return qorgau.Errorf(qorgau.EINVALID, "the time of writing is missing")
	}
	if id := d.Identity; id != nil && (strings.TrimSpace(id.Name) == "" || len(id.Name)+len(id.BirthDate)+len(id.Detail) > 1000) {
		return qorgau.Errorf(qorgau.EINVALID, "an identity needs a name and at most 1000 bytes")
	}
	if v := d.Voice; v != nil && (v.Type == "" || len(v.Type) > 100 || len(v.Data) == 0) {
		return qorgau.Errorf(qorgau.EINVALID, "a voice recording needs a media type and data")
	}
	if r := d.Reply; r != nil {
		if _, err := ParseRecipient(r.Recipient); err != nil || !isHex32(r.LookupID) {
			return qorgau.Errorf(qorgau.EINVALID, "reply address is malformed")
		}
	}
	return nil
}
