package kiosk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

// Info implements Backend.
func (a *Agent) Info(ctx context.Context) (*Info, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := &Info{Device: a.enrol.Device, Facility: a.fac.Code, Name: a.fac.Name, Online: a.net == netUp,
		Outbox: a.outbox.Len(), Printer: a.cfg.Printer != "", Updated: a.dirAt}
	for _, z := range a.fac.Zones {
		in.Zones = append(in.Zones, InfoZone{Code: z.Code, Name: z.Name, Kind: z.Kind})
	}
	for _, b := range a.dir.Bodies {
		in.Bodies = append(in.Bodies, InfoBody{Code: b.Code, Kind: b.Kind, Region: b.Region,
			Names: map[string]string{"kk": b.NameKK, "ru": b.NameRU, "en": b.NameEN}})
	}
	in.Extra = &InfoDefault{TortureBodies: urgentBodies(a.dir, a.fac.Region)}
	return in, nil
}

// urgentBodies returns the bodies every urgent complaint from this
// terminal must also go to, as the server's rules say.
func urgentBodies(d *seal.Directory, region string) []string {
	list := make([]qorgau.Body, len(d.Bodies))
	for i, b := range d.Bodies {
		list[i] = b.Body
	}
	out := qorgau.KazakhstanRules().UrgentRecipients(list, region)
	sort.Strings(out)
	return out
}

// Send implements Backend: it seals the draft to the chosen bodies (and,
// for an urgent category, to the bodies the rules add), queues the
// envelope and returns the receipt code at once. Nothing readable reaches
// the disk.
func (a *Agent) Send(ctx context.Context, d *Draft) (*Sent, error) {
	if d == nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "nothing to send")
	}
	a.mu.Lock()
	dir, fac := a.dir, a.fac
	a.mu.Unlock()
	kind := d.Kind
	if kind == "" {
		kind = seal.KindComplaint
	}
	if len(d.Bodies) == 0 {
		return nil, qorgau.Errorf(qorgau.EINVALID, "choose at least one body to write to")
	}
	bodies := slices.Clone(d.Bodies)
	urgent := d.Urgent || d.Category.IsUrgent()
	if urgent {
		for _, b := range urgentBodies(dir, fac.Region) {
			if !slices.Contains(bodies, b) {
				bodies = append(bodies, b)
			}
		}
	}
	to, err := dir.Recipients(bodies...)
	if err != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "%s", qorgau.ErrorMessage(err))
	}
	if d.Zone != "" && !slices.ContainsFunc(fac.Zones, func(z qorgau.TerminalZone) bool { return z.Code == d.Zone }) {
		return nil, qorgau.Errorf(qorgau.EINVALID, "zone %q is not a zone of this facility", d.Zone)
	}
	now := a.now()
	from, until, err := IncidentWindow(now, d.When, d.PartOfDay)
	if err != nil {
		return nil, err
	}
	if d.TestCode != "" {
		// Refused now, the monitor is told now; refused at delivery, the
		// envelope would be set aside where no one sees it. A server that
		// cannot be asked (offline, or slow: Send returns at once) checks
		// the code when the envelope arrives.
		if _, err := seal.ParseCode(d.TestCode); err != nil {
			return nil, ErrTestCode
		}
		if a.Online() {
			cctx, cancel := context.WithTimeout(ctx, testCodeWait)
			err := a.CheckTestCode(cctx, d.TestCode)
			cancel()
			if errors.Is(err, ErrTestCode) {
				return nil, err
			}
		}
	}
	doc := &seal.Document{V: seal.DocumentVersion, Kind: kind, Category: string(d.Category), Text: d.Text, Lang: d.Lang,
		Facility: a.enrol.Facility, Zone: d.Zone, IncidentFrom: from, IncidentTo: until, Bodies: bodies,
		Urgent: d.Urgent, Test: d.TestCode != "", Written: now.UTC().Truncate(time.Second), Identity: d.Identity, Voice: d.Voice}
	if err := doc.Validate(); err != nil {
		return nil, err
	}

	code := seal.NewReceiptCode()
	a.deriveMu.Lock()
	reply, err := seal.DeriveReply(code, a.salt)
	a.deriveMu.Unlock()
	if err != nil {
		return nil, err
	}
	idb := make([]byte, 16)
	rand.Read(idb)
	idem := hex.EncodeToString(idb)
	env, err := seal.Seal(doc, to, a.c.Key, a.enrol.Device, idem, seal.Options{Reply: reply})
	if err != nil {
		return nil, err
	}
	it := &Item{ID: idem, Bodies: bodies, Category: d.Category, Urgent: urgent, Test: doc.Test, TestCode: d.TestCode,
		LookupID: reply.LookupID, Envelope: env.Marshal()}
	if _, err := a.outbox.Put(it); err != nil {
		return nil, err
	}
	if d.Voice != nil {
		clear(d.Voice.Data) // queued: the recording leaves memory now, not at the next GC
	}
	a.journal.Append(qorgau.JournalSubmitted, fmt.Sprintf("queued outbox=%d", a.outbox.Len()))
	select {
	case a.kick <- struct{}{}:
	default:
	}
	sent := &Sent{Code: seal.FormatCode(code), Queued: !a.Online()}
	if a.cfg.Printer != "" {
		if err := PrintReceipt(a.cfg.Printer, code); err != nil {
			a.log.Error("receipt printer", "err", err)
		} else {
			sent.Printed = true
		}
	}
	return sent, nil
}

// IncidentWindow turns the kiosk's "when" (today, yesterday, week, earlier)
// and part of the day (morning 6-12, day 12-18, evening 18-24, night 0-6)
// into an incident window on the kiosk's clock. Empty when means unknown:
// no window. A part of the day narrows only today and yesterday; the
// window never reaches past now.
func IncidentWindow(now time.Time, when, part string) (from, until time.Time, err error) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	switch when {
	case "":
		return time.Time{}, time.Time{}, nil
	case "today":
		from, until = day, now
	case "yesterday":
		from, until = day.AddDate(0, 0, -1), day
	case "week":
		from, until = day.AddDate(0, 0, -7), now
	case "earlier":
		until = day.AddDate(0, 0, -7)
	default:
		return from, until, qorgau.Errorf(qorgau.EINVALID, "when %q is not today, yesterday, week or earlier", when)
	}
	hours := map[string][2]int{"morning": {6, 12}, "day": {12, 18}, "evening": {18, 24}, "night": {0, 6}}
	h, ok := hours[part]
	if part != "" && !ok {
		return from, until, qorgau.Errorf(qorgau.EINVALID, "part of day %q is not morning, day, evening or night", part)
	}
	if ok && (when == "today" || when == "yesterday") {
		base := from
		from, until = base.Add(time.Duration(h[0])*time.Hour), base.Add(time.Duration(h[1])*time.Hour)
		if until.After(now) {
			until = now
		}
		if until.Before(from) {
			// Later today than now: the person means that part of the day
			// as far as it went.
			until = from
		}
	}
	return from.UTC(), until.UTC(), nil
}

// testCodeWait bounds how long Send waits for the server's answer about a
// test code.
const testCodeWait = 5 * time.Second

// ErrTestCode is a monitor's test code the server refuses: not 16 digits,
// unknown, used or expired.
var ErrTestCode = qorgau.Errorf(qorgau.EFORBIDDEN, "the test code is not valid: unknown, used or expired")

// CheckTestCode implements Backend.
func (a *Agent) CheckTestCode(ctx context.Context, code string) error {
	c, err := seal.ParseCode(code)
	if err != nil {
		return ErrTestCode
	}
	err = a.c.CheckTestCode(ctx, seal.FormatCode(c))
	a.seen(err)
	var ae *APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusForbidden):
		return ErrTestCode
	case !reachable(err):
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	return err
}

// Check implements Backend.
func (a *Agent) Check(ctx context.Context, code string) ([]Answer, error) {
	c, err := seal.ParseCode(code)
	if err != nil {
		return nil, err
	}
	a.deriveMu.Lock()
	reply, err := seal.DeriveReply(c, a.salt)
	a.deriveMu.Unlock()
	if err != nil {
		return nil, err
	}
	list, err := a.c.Followup(ctx, reply.LookupID)
	a.seen(err)
	var out []Answer
	if err == nil {
		for _, fc := range list {
			out = append(out, a.answer(fc, reply))
		}
	}
	// An envelope still in the outbox: say it waits.
	if queued := a.queuedFor(reply.LookupID); queued > 0 {
		for range queued {
			out = append(out, Answer{Queued: true})
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case err != nil && !reachable(err):
		return nil, fmt.Errorf("%w: %v", ErrOffline, err)
	case err != nil:
		return nil, err
	}
	return nil, qorgau.Errorf(qorgau.ENOTFOUND, "no complaint has this code")
}

func (a *Agent) queuedFor(lookup string) int {
	names, err := a.outbox.List()
	if err != nil {
		return 0
	}
	n := 0
	for _, name := range names {
		if it, err := a.outbox.Load(name); err == nil && it.LookupID == lookup {
			n++
		}
	}
	return n
}

// stateRank orders the states of a copy from first to last, to show the
// furthest a complaint has gone with any of its bodies.
var stateRank = []qorgau.ComplaintState{qorgau.StateFiled, qorgau.StateDelivered, qorgau.StateRegistered,
	qorgau.StateUnderReview, qorgau.StateRedirected, qorgau.StateExtended, qorgau.StateAnswered,
	qorgau.StateAnswerDelivered, qorgau.StateClosed}

func (a *Agent) answer(fc FollowupComplaint, reply *seal.ReplyKey) Answer {
	ans := Answer{Complaint: fc.ID, Filed: fc.Received, State: qorgau.StateFiled}
	answered, read := false, false
	for body, st := range fc.Bodies {
		ans.Bodies = append(ans.Bodies, body)
		s := qorgau.ComplaintState(st)
		if slices.Index(stateRank, s) > slices.Index(stateRank, ans.State) {
			ans.State = s
		}
		answered = answered || s == qorgau.StateAnswered
		read = read || s == qorgau.StateAnswerDelivered
	}
	sort.Strings(ans.Bodies)
	ans.Read = read && !answered
	for _, e := range fc.Events {
		ev := AnswerEvent{Time: e.At, State: qorgau.ComplaintState(e.State), Body: e.Body, To: e.To, Outcome: qorgau.Outcome(e.Outcome)}
		if e.Term != "" {
			if d, err := time.Parse("2006-01-02", e.Term); err == nil {
				ev.Term = d
			}
		}
		for _, k := range e.Evidence {
			ev.Evidence = append(ev.Evidence, qorgau.Evidence(k))
		}
		ans.History = append(ans.History, ev)
	}
	for _, r := range fc.Replies {
		text, err := seal.OpenReply(r.Ciphertext, reply.Identities()...)
		if err != nil {
			a.log.Warn("a reply does not open with the receipt code's key", "complaint", fc.ID, "body", r.Body, "err", err)
			continue
		}
		ans.Replies = append(ans.Replies, AnswerReply{Time: r.At, Body: r.Body, Text: text})
	}
	return ans
}

// Read implements Backend.
func (a *Agent) Read(ctx context.Context, code string, complaint int64) error {
	a.deriveMu.Lock()
	reply, err := seal.DeriveReply(code, a.salt)
	a.deriveMu.Unlock()
	if err != nil {
		return err
	}
	err = a.c.AnswerRead(ctx, complaint, reply.LookupID)
	a.seen(err)
	if err != nil && !reachable(err) {
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	return err
}

// Step implements Backend.
func (a *Agent) Step(step string) { a.usage.count(step, false) }

// Abandon implements Backend.
func (a *Agent) Abandon(step string) { a.usage.count(step, true) }
