package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// inboxRow is a complaint in the inbox with its clock.
type inboxRow struct {
	store.InboxItem
	DaysLeft int  // working days until the term ends; negative when overdue
	Overdue  bool // the term has passed
	DueSoon  bool
}

func (s *Server) clock(due time.Time) (daysLeft int, overdue, soon bool) {
	now := s.Now()
	if s.cfg.Complaints == nil {
		return 0, now.After(due), false
	}
	cal, rules := s.cfg.Complaints.Calendar, s.cfg.Complaints.Rules
	if now.After(due) {
		return -cal.WorkingDaysBetween(due, now), true, false
	}
	left := cal.WorkingDaysBetween(now, due.Add(-time.Nanosecond))
	return left, false, left <= rules.DueSoonDays
}

// inbox lists the complaints addressed to the member's body: content stays
// sealed here; only the routing data and the clock are shown.
func (s *Server) inbox(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	page, err := pageParam(q, inboxPerPage)
	if err != nil {
		return err
	}
	rows, more, err := s.inboxRows(r, inboxPerPage, (page-1)*inboxPerPage)
	if err != nil {
		return err
	}
	var prev, next string
	if page > 1 {
		prev = pageLink("/inbox", q, inboxFilterKeys, page-1)
	}
	if more {
		next = pageLink("/inbox", q, inboxFilterKeys, page+1)
	}
	body, err := s.db.Body(r.Context(), r.User.Body)
	if err != nil {
		return err
	}
	facilities, err := s.db.FacilitySummaries(r.Context(), "", "")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "inbox", "inbox.title", struct {
		Body       string
		Rows       []inboxRow
		Locked     bool // the session holds no key of the body
		Facilities []qorgau.FacilitySummary
		Categories []qorgau.Category
		States     []qorgau.ComplaintState
		Q          map[string]string
		Page       int
		Prev, Next string
	}{body.Name(r.L.Code), rows, len(s.keys.get(r.Session.ID)) == 0, facilities, qorgau.Categories, qorgau.ComplaintStates,
		map[string]string{"facility": q.Get("facility"), "category": q.Get("category"), "state": q.Get("state"),
			"overdue": q.Get("overdue"), "torture": q.Get("torture"), "mine": q.Get("mine")}, page, prev, next})
}

// shownReply is an answer of the member's body, decrypted.
type shownReply struct {
	store.Reply
	Text string
}

// reading is a complaint opened for a member: the document, the body's copy,
// its answers decrypted and the history.
type reading struct {
	id      int64
	doc     *seal.Document
	c       *store.Complaint
	mine    *store.ComplaintBody
	replies []shownReply
	events  []store.ComplaintEvent
}

// readComplaint opens the complaint of the request's path for a member of
// a body it was sent to, audited first (see openForMember), with the body's
// answers decrypted in the session. The console page and the API share it.
func (s *Server) readComplaint(r *request, why string) (*reading, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return nil, qorgau.Errorf(qorgau.EINVALID, "complaint id must be a number")
	}
	doc, c, mine, err := s.openForMember(r, id, why)
	if err != nil {
		return nil, err
	}
	rd := &reading{id: id, doc: doc, c: c, mine: mine}
	stored, err := s.db.Replies(r.Context(), id)
	if err != nil {
		return nil, err
	}
	ids := s.keys.get(r.Session.ID)
	for _, rp := range stored {
		if rp.Body != r.User.Body {
			continue
		}
		text, err := seal.OpenReply(rp.Ciphertext, ids...)
		if err != nil {
			return nil, err
		}
		rd.replies = append(rd.replies, shownReply{rp, text})
	}
	if rd.events, err = s.db.ComplaintEvents(r.Context(), id); err != nil {
		return nil, err
	}
	return rd, nil
}

// complaintPage decrypts one complaint for a member of a body it was sent
// to. The reading is recorded in the audit log before anything is shown,
// and a failure to record it refuses the reading.
func (s *Server) complaintPage(w http.ResponseWriter, r *request) error {
	rd, err := s.readComplaint(r, "")
	if err != nil {
		return err
	}
	id, doc, c, mine, replies, events := rd.id, rd.doc, rd.c, rd.mine, rd.replies, rd.events
	left, overdue, soon := s.clock(mine.Due)
	all, err := s.db.Bodies(r.Context())
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, b := range c.Bodies {
		has[b.Body] = true
	}
	var others []qorgau.Body
	for _, b := range all {
		if !has[b.Code] {
			others = append(others, b)
		}
	}
	coding, err := s.db.Coding(r.Context(), id, r.User.Body)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		// Not coded yet: start from what the person chose.
		coding = &store.Coding{Kind: qorgau.AppealKind(doc.Kind), Category: qorgau.Category(doc.Category),
			Torture: qorgau.Category(doc.Category) == qorgau.CategoryTorture, Zone: doc.Zone}
	} else if err != nil {
		return err
	}
	pending, err := s.db.PendingFlagClearing(r.Context(), id, r.User.Body)
	if err != nil && qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		return err
	}
	bodyMembers, err := s.db.BodyMembers(r.Context(), r.User.Body)
	if err != nil {
		return err
	}
	var members []string
	for _, m := range bodyMembers {
		if !m.Disabled {
			members = append(members, m.Name)
		}
	}
	return s.render(w, r, http.StatusOK, "complaint", "complaint.title", struct {
		Coding     *store.Coding
		Pending    *store.FlagClearing
		Members    []string
		Kinds      []qorgau.AppealKind
		Categories []qorgau.Category
		Complaint  *store.Complaint
		Mine       *store.ComplaintBody
		Doc        *seal.Document
		DaysLeft   int
		Overdue    bool
		DueSoon    bool
		Replies    []shownReply
		Events     []store.ComplaintEvent
		CanReply   bool
		CanExtend  bool
		CanClose   bool
		Outcomes   []qorgau.Outcome
		Evidence   []qorgau.Evidence
		Redirect   []qorgau.Body  // bodies it may be redirected to; none when it may not
		Local      *time.Location // the deployment's zone, for the incident window
	}{coding, pending, members, qorgau.AppealKinds, qorgau.Categories, c, mine, doc, left, overdue, soon, replies, events, mine.State.CanBecome(qorgau.StateAnswered) && doc.Reply != nil,
		mine.State.CanBecome(qorgau.StateExtended), mine.State.CanBecome(qorgau.StateClosed), qorgau.Outcomes, qorgau.EvidenceKinds,
		redirectable(mine.State, others), s.localZone()})
}

func redirectable(st qorgau.ComplaintState, bodies []qorgau.Body) []qorgau.Body {
	if !st.CanBecome(qorgau.StateRedirected) {
		return nil
	}
	return bodies
}

// complaintReply seals a member's answer to the complainant's reply key and
// the body's current key, logs the change to answered, and stores it.
func (s *Server) complaintReply(w http.ResponseWriter, r *request) error {
	return s.consoleAction(w, r, func(id int64) error { return s.reply(r, id, r.PostFormValue("text")) })
}

// consoleAction checks the complaint belongs to the member's body, runs act
// and returns to the complaint's page.
func (s *Server) consoleAction(w http.ResponseWriter, r *request, act func(id int64) error) error {
	id, err := s.memberComplaint(r)
	if err != nil {
		return err
	}
	if err := act(id); err != nil {
		return err
	}
	http.Redirect(w, r.Request, "/inbox/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// openForMember decrypts a complaint of the member's body with the session's
// keys, writing the audit record first: the original envelope, or the copy
// sealed for the body when the complaint was redirected to it.
func (s *Server) openForMember(r *request, id int64, why string) (*seal.Document, *store.Complaint, *store.ComplaintBody, error) {
	if s.cfg.Log == nil || s.cfg.Complaints == nil {
		return nil, nil, nil, errNoLog
	}
	c, err := s.db.Complaint(r.Context(), id)
	if err != nil {
		return nil, nil, nil, err
	}
	var mine *store.ComplaintBody
	for i := range c.Bodies {
		if c.Bodies[i].Body == r.User.Body {
			mine = &c.Bodies[i]
		}
	}
	if mine == nil {
		// Not sent to this member's body: it does not exist for them.
		return nil, nil, nil, qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d not found", id)
	}
	ids := s.keys.get(r.Session.ID)
	if len(ids) == 0 {
		return nil, nil, nil, qorgau.Errorf(qorgau.EFORBIDDEN, "this session holds no key of your body; sign out and in again, or ask a key holder to grant you the key")
	}
	var env *seal.Envelope
	if cp, err := s.db.ComplaintCopyFor(r.Context(), id, r.User.Body); err == nil {
		env = &seal.Envelope{Ciphertext: cp.Ciphertext}
	} else if qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		return nil, nil, nil, err
	} else {
		_, object, err := s.cfg.Log.Object(r.Context(), id)
		if err != nil {
			return nil, nil, nil, err
		}
		sub, err := complaints.ParseSubmission(object)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("complaint %d: %w", id, err)
		}
		if env, err = seal.ParseEnvelope(sub.Envelope, len(sub.Envelope)); err != nil {
			return nil, nil, nil, fmt.Errorf("complaint %d: %w", id, err)
		}
	}
	detail := "body " + r.User.Body
	if why != "" {
		detail += ", " + why
	}
	if err := s.db.AppendAudit(r.Context(), &qorgau.AuditRecord{Actor: r.User.Name, Action: qorgau.AuditComplaintRead,
		Target: strconv.FormatInt(id, 10), Detail: detail, Addr: r.Addr}); err != nil {
		return nil, nil, nil, fmt.Errorf("could not record the reading, so the complaint stays sealed: %w", err)
	}
	doc, err := env.Open(ids...)
	if err != nil {
		return nil, nil, nil, err
	}
	if mine.State == qorgau.StateDelivered {
		// Opening registers it: from now on the body cannot say it never saw it.
		if err := s.cfg.Complaints.Transition(r.Context(), id, r.User.Body, qorgau.StateRegistered, r.User.Name, nil); err != nil {
			return nil, nil, nil, err
		}
		mine.State = qorgau.StateRegistered
	}
	return doc, c, mine, nil
}

// complaintExtend extends the term of the member's body's copy, with a
// motivated reason, within the rule set's bound.
func (s *Server) complaintExtend(w http.ResponseWriter, r *request) error {
	return s.consoleAction(w, r, func(id int64) error {
		return s.extend(r, id, r.PostFormValue("until"), r.PostFormValue("reason"))
	})
}

// complaintClose closes the member's body's copy with an outcome and the
// evidence considered.
func (s *Server) complaintClose(w http.ResponseWriter, r *request) error {
	if err := r.ParseForm(); err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "malformed form")
	}
	return s.consoleAction(w, r, func(id int64) error {
		return s.closeCopy(r, id, r.PostForm.Get("outcome"), r.PostForm["evidence"])
	})
}

// memberComplaint parses the complaint id of a member's action and checks
// the complaint was sent to the member's body.
func (s *Server) memberComplaint(r *request) (int64, error) {
	if s.cfg.Complaints == nil {
		return 0, errNoLog
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return 0, qorgau.Errorf(qorgau.EINVALID, "complaint id must be a number")
	}
	c, err := s.db.Complaint(r.Context(), id)
	if err != nil {
		return 0, err
	}
	for _, b := range c.Bodies {
		if b.Body == r.User.Body {
			return id, nil
		}
	}
	return 0, qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d not found", id)
}

// complaintRedirect sends the complaint on to the competent body: the
// content is sealed anew in this member's session to that body's key and the
// complainant's reply key.
func (s *Server) complaintRedirect(w http.ResponseWriter, r *request) error {
	return s.consoleAction(w, r, func(id int64) error { return s.redirect(r, id, r.PostFormValue("to"), r.PostFormValue("reason")) })
}

// redirect sends the complaint on to the competent body, sealed anew in
// this member's session; never to a body the complaint names.
func (s *Server) redirect(r *request, id int64, to, reason string) error {
	target, err := s.db.Body(r.Context(), to)
	if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "choose the body to redirect to")
	}
	// Never to a body the complaint names: it must not judge itself.
	if coding, err := s.db.Coding(r.Context(), id, r.User.Body); err == nil && names(coding.Named, target) {
		return qorgau.Errorf(qorgau.EFORBIDDEN, "the complaint names %s: it cannot be redirected there", target.Code)
	}
	doc, _, _, err := s.openForMember(r, id, "to redirect to "+to)
	if err != nil {
		return err
	}
	return s.cfg.Complaints.Redirect(r.Context(), id, r.User.Body, to, doc, r.User.Name, strings.TrimSpace(reason))
}

// complaintCode stores what the member's body codes after reading: kind,
// category, the torture and imminent-risk flags, zone and the persons or
// units named. A torture flag set before cannot be cleared here.
func (s *Server) complaintCode(w http.ResponseWriter, r *request) error {
	id, err := s.memberComplaint(r)
	if err != nil {
		return err
	}
	c := &store.Coding{Complaint: id, Body: r.User.Body, Kind: qorgau.AppealKind(r.PostFormValue("kind")),
		Category: qorgau.Category(r.PostFormValue("category")), Torture: r.PostFormValue("torture") == "1",
		ImminentRisk: r.PostFormValue("imminent") == "1", Zone: strings.TrimSpace(r.PostFormValue("zone")),
		Named: strings.TrimSpace(r.PostFormValue("named")), CodedBy: r.User.Name, CodedAt: s.Now()}
	if err := s.incidentWindow(c, r.PostFormValue("incident_from"), r.PostFormValue("incident_to")); err != nil {
		return err
	}
	if err := s.saveCoding(r, c); err != nil {
		return err
	}
	http.Redirect(w, r.Request, "/inbox/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// complaintClearFlag asks to clear the torture flag, with a reason; another
// member of the body must approve (complaintApproveClear).
func (s *Server) complaintClearFlag(w http.ResponseWriter, r *request) error {
	return s.consoleAction(w, r, func(id int64) error { return s.requestClearing(r, id, r.PostFormValue("reason")) })
}

// requestClearing asks, with a reason, to clear the complaint's torture
// flag in this body's coding.
func (s *Server) requestClearing(r *request, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if len(reason) < 10 {
		return qorgau.Errorf(qorgau.EINVALID, "clearing the torture flag needs a reason")
	}
	coding, err := s.db.Coding(r.Context(), id, r.User.Body)
	if err != nil || !coding.Torture {
		return qorgau.Errorf(qorgau.ECONFLICT, "the complaint is not flagged as torture or ill-treatment")
	}
	return s.db.RequestFlagClearing(r.Context(), &store.FlagClearing{Complaint: id, Body: r.User.Body, RequestedBy: r.User.Name,
		Reason: reason, RequestedAt: s.Now()}, &qorgau.AuditRecord{Actor: r.User.Name, Action: qorgau.AuditFlagClearRequested,
		Target: strconv.FormatInt(id, 10), Detail: reasonDigest(reason), Addr: r.Addr})
}

// complaintApproveClear is the second member's approval of clearing the
// torture flag; the requester cannot approve their own request.
func (s *Server) complaintApproveClear(w http.ResponseWriter, r *request) error {
	return s.consoleAction(w, r, func(id int64) error { return s.approveClearing(r, id) })
}

// reasonDigest is what the audit log keeps of a member's reason for
// clearing a torture flag: its SHA-256. The reason is the member's own
// words about a complaint, which may retell what it says, and the audit
// log is read by administrators and auditors, who never see complaint
// content. The words stay with the complaint, for its body's members; the
// digest in the hash chain shows that they were not changed afterwards.
func reasonDigest(reason string) string {
	sum := sha256.Sum256([]byte(reason))
	return "reason sha256:" + hex.EncodeToString(sum[:])
}

func (s *Server) approveClearing(r *request, id int64) error {
	return s.db.ApproveFlagClearing(r.Context(), id, r.User.Body, r.User.Name, s.Now(), &qorgau.AuditRecord{
		Actor: r.User.Name, Action: qorgau.AuditFlagCleared, Target: strconv.FormatInt(id, 10), Addr: r.Addr})
}

// names reports whether the persons or units a coding names, one per line,
// include the body, by code or by any of its names.
func names(named string, b *qorgau.Body) bool {
	for _, line := range strings.Split(named, "\n") {
		line = strings.ToLower(strings.TrimSpace(line))
		if line == "" {
			continue
		}
		for _, n := range []string{b.Code, b.NameKK, b.NameRU, b.NameEN} {
			n = strings.ToLower(n)
			if n != "" && (strings.Contains(line, n) || strings.Contains(n, line)) {
				return true
			}
		}
	}
	return false
}

// inboxPerPage is the console inbox's page.
const inboxPerPage = 200

// inboxFilterKeys are the query parameters of inboxFilter, carried over
// from page to page.
var inboxFilterKeys = []string{"facility", "category", "state", "overdue", "torture", "mine"}

// inboxRows returns up to limit rows of the member's inbox from offset on,
// filtered by the query string, with the clock of every copy still waiting
// for an answer, and whether more rows follow. The console and the API
// show the same rows.
func (s *Server) inboxRows(r *request, limit, offset int) ([]inboxRow, bool, error) {
	f, err := s.inboxFilter(r)
	if err != nil {
		return nil, false, err
	}
	f.Limit, f.Offset = limit+1, offset
	items, err := s.db.Inbox(r.Context(), r.User.Body, f)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	items = items[:min(len(items), limit)]
	rows := make([]inboxRow, len(items))
	for i, it := range items {
		rows[i].InboxItem = it
		if it.State != qorgau.StateClosed && it.State != qorgau.StateAnswered && it.State != qorgau.StateAnswerDelivered {
			rows[i].DaysLeft, rows[i].Overdue, rows[i].DueSoon = s.clock(it.Due)
		}
	}
	return rows, more, nil
}

// inboxFilter reads the inbox filters of the query string, refusing values
// that are not in their closed sets. A flag is 1, or 0 or absent: any other
// value (overdue=true) is refused rather than read as 0, which would answer
// with every complaint to a client that asked for some.
func (s *Server) inboxFilter(r *request) (store.InboxFilter, error) {
	q := r.URL.Query()
	f := store.InboxFilter{Facility: q.Get("facility"), Category: qorgau.Category(q.Get("category")),
		State: qorgau.ComplaintState(q.Get("state"))}
	if f.Category != "" && !slices.Contains(qorgau.Categories, f.Category) {
		return f, qorgau.Errorf(qorgau.EINVALID, "unknown category %q", f.Category)
	}
	if f.State != "" && !slices.Contains(qorgau.ComplaintStates, f.State) {
		return f, qorgau.Errorf(qorgau.EINVALID, "unknown state %q", f.State)
	}
	var overdue, mine bool
	for _, p := range []struct {
		name string
		v    *bool
	}{{"overdue", &overdue}, {"torture", &f.Torture}, {"mine", &mine}} {
		v, err := flag(q.Get(p.name))
		if err != nil {
			return f, qorgau.Errorf(qorgau.EINVALID, "%s: %s", p.name, qorgau.ErrorMessage(err))
		}
		*p.v = v
	}
	if overdue {
		f.OverdueAt = s.Now()
	}
	if mine {
		f.AssignedTo = r.User.Name
	}
	return f, nil
}

// complaintAssign assigns the body's copy to one of the body's members, who
// must not be named in the complaint.
func (s *Server) complaintAssign(w http.ResponseWriter, r *request) error {
	return s.consoleAction(w, r, func(id int64) error { return s.assign(r, id, r.PostFormValue("member")) })
}

// assign gives the body's copy to one of the body's active members ("" to
// no one), never to a member the complaint names.
func (s *Server) assign(r *request, id int64, to string) error {
	if to != "" {
		u, err := s.db.UserByName(r.Context(), to)
		if err != nil || u.Role != qorgau.RoleMember || u.Body != r.User.Body || u.Disabled {
			return qorgau.Errorf(qorgau.EINVALID, "%q is not an active member of your body", to)
		}
		if coding, err := s.db.Coding(r.Context(), id, r.User.Body); err == nil && namesPerson(coding.Named, u) {
			return qorgau.Errorf(qorgau.EFORBIDDEN, "the complaint names %s: it cannot be assigned to them", to)
		}
	}
	return s.db.Assign(r.Context(), id, r.User.Body, to, &qorgau.AuditRecord{Actor: r.User.Name, Action: qorgau.AuditComplaintAssigned,
		Target: strconv.FormatInt(id, 10), Detail: "to " + to, Addr: r.Addr})
}

// namesPerson reports whether the named lines mention the user by login or
// full name.
func namesPerson(named string, u *qorgau.User) bool {
	for _, line := range strings.Split(strings.ToLower(named), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		for _, n := range []string{u.Name, u.FullName} {
			if n = strings.ToLower(n); n != "" && strings.Contains(line, n) {
				return true
			}
		}
	}
	return false
}

// complaintVoice plays a complaint's voice recording: decrypted in the
// member's session like the text, audited, never cached.
func (s *Server) complaintVoice(w http.ResponseWriter, r *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return qorgau.Errorf(qorgau.EINVALID, "complaint id must be a number")
	}
	doc, _, _, err := s.openForMember(r, id, "to play the voice recording")
	if err != nil {
		return err
	}
	if doc.Voice == nil || len(doc.Voice.Data) == 0 {
		return qorgau.Errorf(qorgau.ENOTFOUND, "complaint %d has no voice recording", id)
	}
	ctype := doc.Voice.Type
	if !strings.HasPrefix(ctype, "audio/") {
		// The type came from a kiosk; serve nothing a browser would run.
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", "inline")
	_, err = w.Write(doc.Voice.Data)
	return err
}
