package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// Screens are the kiosk's screens: name → the usage step it counts
// (qorgau.KioskSteps).
var Screens = map[string]string{
	"menu": "menu", "bodies": "bodies", "category": "category", "place": "place", "time": "time",
	"text": "text", "identity": "identity", "review": "review", "sent": "sent", "check": "check",
	"answer": "answer", "learn": "learn", "monitor": "learn",
}

// learnSlides is the number of pictures of the walk-through.
const learnSlides = 4

// Limits of what a person can enter.
const (
	maxVoice    = 8 << 20 // bytes of a recording (about 20 minutes of Opus)
	maxIdentity = 300     // bytes of each identity field
	maxTestCode = 64
)

// Times offered on the "when" screen, and parts of the day.
var (
	whens = []string{"today", "yesterday", "week", "earlier"}
	parts = []string{"morning", "day", "evening", "night"}
)

// screenTemplate is the layout with one screen's "main".
type screenTemplate struct{ t *template.Template }

func parseScreens() (map[string]*screenTemplate, error) {
	funcs := template.FuncMap{
		"icon":       icon,
		"paragraphs": paragraphs,
		"groups":     func(code string) []string { return strings.Fields(seal.FormatCode(code)) },
		"seq": func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = i + 1
			}
			return s
		},
		"add": func(a, b int) int { return a + b },
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*screenTemplate{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("kiosk ui: %w", err)
		}
		out[name] = &screenTemplate{t: t}
	}
	for name := range Screens {
		if out[name] == nil {
			return nil, fmt.Errorf("kiosk ui: no template for screen %s", name)
		}
	}
	return out, nil
}

// page is what a template sees.
type page struct {
	*locale
	SID       string
	Screen    string
	Title     string   // catalogue key of the heading
	Audio     []string // prompts the speaker plays, in order
	IdleMS    int64
	Back      string // the previous screen, or empty
	Error     string // catalogue key of a message, or empty
	Done      bool   // a confirmation to show
	Test      bool   // a monitor's test complaint
	Info      *kiosk.Info
	Draft     *kiosk.Draft
	Named     bool
	Sent      *kiosk.Sent
	Answers   []kiosk.Answer
	Code      string
	Slide     int
	Slides    []int
	Keyboard  string    // the on-screen keyboard's layout
	Locales   []*locale // the start screen speaks every language
	Whens     []string
	Parts     []string
	Category  []qorgau.Category
	IdleAudio string // the warning's spoken prompt
	CanSpeak  bool   // answers can be read aloud
	CSS       template.CSS
	JS        template.JS
}

// BodyName is a body's name in the page's language, or its code.
func (p *page) BodyName(code string) string {
	if p.Info != nil {
		for _, b := range p.Info.Bodies {
			if b.Code == code {
				if n := b.Names[p.lang]; n != "" {
					return n
				}
				for _, l := range Languages {
					if n := b.Names[l]; n != "" {
						return n
					}
				}
			}
		}
	}
	return code
}

// Zone returns the facility's zone with code, or nil.
func (p *page) Zone(code string) *kiosk.InfoZone {
	if p.Info != nil {
		for i := range p.Info.Zones {
			if p.Info.Zones[i].Code == code {
				return &p.Info.Zones[i]
			}
		}
	}
	return nil
}

// Chosen reports whether the draft names body code.
func (p *page) Chosen(code string) bool {
	return p.Draft != nil && slices.Contains(p.Draft.Bodies, code)
}

// TortureBodies are the bodies the server adds to an urgent complaint that
// the person did not choose.
func (p *page) TortureBodies() []string {
	if p.Info == nil || p.Info.Extra == nil || p.Draft == nil || !p.Draft.Category.IsUrgent() {
		return nil
	}
	var out []string
	for _, b := range p.Info.Extra.TortureBodies {
		if !slices.Contains(p.Draft.Bodies, b) {
			out = append(out, b)
		}
	}
	return out
}

// ZoneIcon is the pictogram of a zone kind.
func (p *page) ZoneIcon(k qorgau.ZoneKind) string {
	if k == qorgau.ZoneOther || icons[string(k)] == "" {
		return "zone-other"
	}
	return string(k)
}

// Date formats a time for a person: day, month, year, hour and minute.
func (p *page) Date(t time.Time) string { return t.Local().Format("02.01.2006 15:04") }

// Day formats a calendar day as Date does.
func (p *page) Day(t time.Time) string { return t.Format("02.01.2006") }

// EventFacts words what a step of a complaint's history adds to its state
// (the new or missed term, the new body, the outcome and what the body
// checked), one line each, in the person's language.
func (p *page) EventFacts(e kiosk.AnswerEvent) []string {
	var out []string
	if !e.Term.IsZero() {
		key := "history.until"
		if e.State == qorgau.EventOverdue {
			key = "history.noanswer"
		}
		out = append(out, fmt.Sprintf(p.T(key), p.Day(e.Term)))
	}
	if e.To != "" {
		out = append(out, fmt.Sprintf(p.T("history.to"), p.BodyName(e.To)))
	}
	if e.Outcome != "" {
		out = append(out, fmt.Sprintf(p.T("history.outcome"), p.T("outcome."+string(e.Outcome))))
	}
	if len(e.Evidence) > 0 {
		kinds := make([]string, len(e.Evidence))
		for i, k := range e.Evidence {
			kinds[i] = p.T("evidence." + string(k))
		}
		out = append(out, fmt.Sprintf(p.T("history.evidence"), strings.Join(kinds, ", ")))
	}
	return out
}

// audio returns the address of a spoken prompt.
func audio(lang, key string) string { return "/audio/" + lang + "/" + key + ".ogg" }

// render writes a screen. Errors after the first byte can only be logged.
func (u *ui) render(w http.ResponseWriter, name string, p *page) {
	t := u.screens[name]
	p.Screen = name
	p.IdleMS = u.o.Idle.Milliseconds()
	p.CSS, p.JS = u.css, u.js
	if p.locale != nil {
		p.IdleAudio = audio(p.lang, "idle")
	}
	if p.Keyboard == "" && p.locale != nil {
		p.Keyboard = p.lang
	}
	if p.Title == "" {
		p.Title = name + ".title"
	}
	if p.Audio == nil && p.locale != nil {
		p.Audio = []string{audio(p.lang, name)}
	}
	var buf bytes.Buffer
	if err := t.t.ExecuteTemplate(&buf, "layout", p); err != nil {
		u.log.Error("kiosk ui: render", "screen", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// redirect sends the browser on. The kiosk's script asks with X-Kiosk and
// gets the address to replace the page with, so that no history builds up;
// a plain form post gets a 303.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("X-Kiosk") == "1" {
		w.Header().Set("X-Kiosk-Go", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// start shows the choice of language.
func (u *ui) start(w http.ResponseWriter, r *http.Request) {
	p := &page{locale: u.locales["kk"], Title: "start.title"}
	for _, l := range Languages {
		p.Locales = append(p.Locales, u.locales[l])
		p.Audio = append(p.Audio, audio(l, "start"))
	}
	u.render(w, "start", p)
}

// begin opens a session in the chosen language; every other session ends.
func (u *ui) begin(w http.ResponseWriter, r *http.Request) {
	lang := r.FormValue("lang")
	if !slices.Contains(Languages, lang) {
		redirect(w, r, "/")
		return
	}
	s := u.sessions.open(lang)
	u.sessions.mu.Lock()
	u.reach(s, "start")
	u.reach(s, "language")
	u.sessions.mu.Unlock()
	redirect(w, r, "/k/"+s.id+"/menu")
}

// reach counts a step once per session and remembers it for Abandon.
func (u *ui) reach(s *session, step string) {
	s.step = step
	if !s.reached[step] {
		s.reached[step] = true
		u.b.Step(step)
	}
}

// sessionHandler serves one screen of a live session; it runs under the
// sessions' lock and returns true to end the session when it is done.
type sessionHandler func(w http.ResponseWriter, r *http.Request, s *session) (end bool)

// withSession finds the session of the address; an ended or unknown one
// sends the browser back to the start.
func (u *ui) withSession(h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u.sessions.mu.Lock()
		s := u.sessions.get(r.PathValue("sid"))
		if s == nil {
			u.sessions.mu.Unlock()
			redirect(w, r, "/")
			return
		}
		end := h(w, r, s)
		u.sessions.mu.Unlock()
		if end {
			u.sessions.end(s.id)
		}
	}
}

// info fetches the kiosk's description, logging a failure.
func (u *ui) info(r *http.Request) *kiosk.Info {
	info, err := u.b.Info(r.Context())
	if err != nil {
		u.log.Error("kiosk ui: info", "err", err)
		return &kiosk.Info{}
	}
	return info
}

// show renders a screen of a session.
func (u *ui) show(w http.ResponseWriter, r *http.Request, s *session) bool {
	name := r.PathValue("screen")
	step, ok := Screens[name]
	if !ok {
		http.NotFound(w, r)
		return false
	}
	p := &page{locale: u.locales[s.lang], SID: s.id, Draft: &s.draft,
		Test: s.draft.TestCode != "", Error: errorKey(r.FormValue("e")), Done: r.FormValue("done") != ""}
	base := "/k/" + s.id + "/"
	switch name {
	case "menu":
	case "bodies":
		p.Info, p.Back = u.info(r), base+"menu"
	case "category":
		p.Category, p.Back = qorgau.Categories, base+"bodies"
	case "place":
		p.Info, p.Back = u.info(r), base+"category"
	case "time":
		p.Whens, p.Parts, p.Back = whens, parts, base+"place"
	case "text":
		p.Back = base + "time"
	case "identity":
		// The name form is shown only when the address asks for it: its
		// Back leads here, to the choice, where a person who touched "give
		// my name" by mistake can still stay anonymous.
		p.Back = base + "text"
		if r.FormValue("form") != "" {
			p.Named = true
		}
	case "review":
		if s.draft.Category == "" || len(s.draft.Bodies) == 0 {
			redirect(w, r, base+"menu")
			return false
		}
		p.Info, p.Back = u.info(r), base+"identity"
	case "sent":
		if s.sent == nil {
			redirect(w, r, base+"menu")
			return false
		}
		p.Sent = s.sent
		p.Audio = []string{audio(s.lang, "sent")}
		for _, d := range strings.ReplaceAll(seal.FormatCode(s.sent.Code), " ", "") {
			p.Audio = append(p.Audio, audio(s.lang, "d"+string(d)))
		}
	case "check":
		p.Back = base + "menu"
	case "answer":
		if s.answers == nil {
			redirect(w, r, base+"check")
			return false
		}
		p.Info, p.Answers, p.Code, p.Back = u.info(r), s.answers, s.code, base+"check"
		p.CanSpeak = u.o.Speak != nil
	case "learn":
		n, _ := strconv.Atoi(r.FormValue("n"))
		p.Slide = min(max(n, 1), learnSlides)
		p.Slides = make([]int, learnSlides)
		for i := range p.Slides {
			p.Slides[i] = i + 1
		}
		p.Audio = []string{audio(s.lang, fmt.Sprintf("learn%d", p.Slide))}
		p.Back = base + "menu"
		if p.Slide > 1 {
			p.Back = fmt.Sprintf("%slearn?n=%d", base, p.Slide-1)
		}
	case "monitor":
		p.Back = base + "learn?n=" + strconv.Itoa(learnSlides)
		p.Keyboard = "code"
	}
	u.reach(s, step)
	u.render(w, name, p)
	return false
}

// errorKey admits only the catalogue keys of the kiosk's own messages, so
// that an address cannot put arbitrary text on screen.
func errorKey(e string) string {
	switch e {
	case "bodies", "category", "when", "text", "name", "code", "notfound", "send", "monitor", "voice", "testcode":
		return "error." + e
	case "":
		return ""
	}
	return "error.generic"
}
