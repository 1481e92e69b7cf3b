package ui

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// post acts on a screen's form and sends the browser on.
func (u *ui) post(w http.ResponseWriter, r *http.Request, s *session) bool {
	base := "/k/" + s.id + "/"
	name := r.PathValue("screen")
	fail := func(e string) bool { redirect(w, r, base+name+"?e="+e); return false }
	if err := r.ParseForm(); err != nil {
		return fail("generic")
	}
	d := &s.draft
	switch name {
	case "over", "wipe":
		redirect(w, r, "/")
		return true
	case "alive":
		w.WriteHeader(http.StatusNoContent)
		return false
	case "menu":
		switch r.PostFormValue("go") {
		case "new":
			test := d.TestCode
			s.wipe()
			*d = kiosk.Draft{Lang: s.lang, Kind: seal.KindComplaint, TestCode: test}
			redirect(w, r, base+"bodies")
		case "check":
			redirect(w, r, base+"check")
		default:
			redirect(w, r, base+"learn?n=1")
		}
	case "bodies":
		info := u.info(r)
		var chosen []string
		for _, code := range r.PostForm["body"] {
			if slices.ContainsFunc(info.Bodies, func(b kiosk.InfoBody) bool { return b.Code == code }) && !slices.Contains(chosen, code) {
				chosen = append(chosen, code)
			}
		}
		if len(chosen) == 0 || len(chosen) > seal.MaxRecipients {
			return fail("bodies")
		}
		d.Bodies = chosen
		redirect(w, r, base+"category")
	case "category":
		c := qorgau.Category(r.PostFormValue("category"))
		if !slices.Contains(qorgau.Categories, c) {
			return fail("category")
		}
		d.Category = c
		redirect(w, r, base+"place")
	case "place":
		zone := r.PostFormValue("zone")
		info := u.info(r)
		if zone != "" && !slices.ContainsFunc(info.Zones, func(z kiosk.InfoZone) bool { return z.Code == zone }) {
			zone = ""
		}
		d.Zone = zone
		redirect(w, r, base+"time")
	case "time":
		when, part := r.PostFormValue("when"), r.PostFormValue("part")
		if !slices.Contains(whens, when) {
			return fail("when")
		}
		if !slices.Contains(parts, part) {
			part = ""
		}
		d.When, d.PartOfDay = when, part
		redirect(w, r, base+"text")
	case "text":
		text := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n"))
		if len(text) > seal.MaxText {
			text = text[:seal.MaxText]
			for !utf8Valid(text) {
				text = text[:len(text)-1]
			}
		}
		d.Text = text
		if text == "" && d.Voice == nil {
			return fail("text")
		}
		redirect(w, r, base+"identity")
	case "identity":
		switch r.PostFormValue("choice") {
		case "anon":
			d.Identity = nil
			redirect(w, r, base+"review")
		case "named":
			redirect(w, r, base+"identity?form=1")
		default:
			id := &seal.Identity{
				Name:      field(r.PostFormValue("name")),
				BirthDate: field(r.PostFormValue("birth")),
				Detail:    field(r.PostFormValue("detail")),
			}
			if id.Name == "" {
				redirect(w, r, base+"identity?form=1&e=name")
				return false
			}
			d.Identity = id
			redirect(w, r, base+"review")
		}
	case "review":
		d.Urgent = r.PostFormValue("urgent") == "1"
		if d.Category == "" || len(d.Bodies) == 0 || (d.Text == "" && d.Voice == nil) {
			redirect(w, r, base+"menu")
			return false
		}
		d.Lang, d.Kind = s.lang, seal.KindComplaint
		sent, err := u.b.Send(r.Context(), d)
		if errors.Is(err, kiosk.ErrTestCode) {
			// The code expired or was used while the monitor wrote: the
			// test cannot be filed with it; a new code starts a new one.
			s.wipe()
			redirect(w, r, base+"monitor?e=testcode")
			return false
		}
		if err != nil {
			u.log.Error("kiosk ui: send", "err", err)
			return fail("send")
		}
		s.wipe()
		s.sent = sent
		redirect(w, r, base+"sent")
	case "check":
		code, err := seal.ParseCode(r.PostFormValue("code"))
		if err != nil {
			return fail("code")
		}
		answers, err := u.b.Check(r.Context(), code)
		switch {
		case qorgau.ErrorCode(err) == qorgau.ENOTFOUND:
			return fail("notfound")
		case err != nil:
			u.log.Error("kiosk ui: check", "err", err)
			return fail("generic")
		}
		if answers == nil {
			answers = []kiosk.Answer{}
		}
		s.code, s.answers = code, answers
		redirect(w, r, base+"answer")
	case "answer":
		id, _ := strconv.ParseInt(r.PostFormValue("complaint"), 10, 64)
		i := slices.IndexFunc(s.answers, func(a kiosk.Answer) bool { return a.Complaint == id })
		if i < 0 || s.code == "" {
			return fail("generic")
		}
		if err := u.b.Read(r.Context(), s.code, id); err != nil {
			u.log.Error("kiosk ui: read", "err", err)
			return fail("generic")
		}
		s.answers[i].Read = true
		// The history shows the reading at once, as the server now records
		// it, without asking the server again.
		for _, rp := range s.answers[i].Replies {
			if !slices.ContainsFunc(s.answers[i].History, func(e kiosk.AnswerEvent) bool {
				return e.Body == rp.Body && e.State == qorgau.StateAnswerDelivered
			}) {
				s.answers[i].History = append(s.answers[i].History, kiosk.AnswerEvent{Time: time.Now(), State: qorgau.StateAnswerDelivered, Body: rp.Body})
			}
		}
		redirect(w, r, base+"answer?done=1")
	case "monitor":
		code := strings.TrimSpace(r.PostFormValue("code"))
		if code == "" || len(code) > maxTestCode {
			return fail("monitor")
		}
		// Asked now, so that a monitor with a bad code does not write a
		// test complaint for nothing; if the server cannot be asked, Send
		// asks again.
		if err := u.b.CheckTestCode(r.Context(), code); errors.Is(err, kiosk.ErrTestCode) {
			return fail("testcode")
		}
		s.wipe()
		*d = kiosk.Draft{Lang: s.lang, Kind: seal.KindComplaint, TestCode: code}
		redirect(w, r, base+"bodies")
	default:
		http.NotFound(w, r)
	}
	return false
}

// voice takes the recording the page made (the request body, its media
// type in Content-Type); an empty body deletes it.
func (u *ui) voice(w http.ResponseWriter, r *http.Request, s *session) bool {
	typ := r.Header.Get("Content-Type")
	data, err := readAll(http.MaxBytesReader(w, r.Body, maxVoice))
	if err != nil {
		http.Error(w, "the recording is too long", http.StatusRequestEntityTooLarge)
		return false
	}
	if old := s.draft.Voice; old != nil {
		clear(old.Data)
		s.draft.Voice = nil
	}
	if len(data) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	if !strings.HasPrefix(typ, "audio/") || len(typ) > 100 {
		clear(data)
		http.Error(w, "not a recording", http.StatusUnsupportedMediaType)
		return false
	}
	s.draft.Voice = &seal.Voice{Type: typ, Data: data}
	w.WriteHeader(http.StatusNoContent)
	return false
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// field trims an identity field and bounds it.
func field(s string) string {
	s = strings.TrimSpace(s)
	for len(s) > maxIdentity || !utf8.ValidString(s) {
		s = s[:min(len(s)-1, maxIdentity)]
	}
	return s
}

// readAll reads a request body into one buffer.
func readAll(r io.Reader) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}
