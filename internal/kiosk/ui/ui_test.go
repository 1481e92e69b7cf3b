package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// site is the UI over a fake backend, served over real HTTP.
type site struct {
	t   *testing.T
	b   *fakeBackend
	url string
	c   *http.Client
}

func newSite(t *testing.T, o Options) *site {
	t.Helper()
	b := newFakeBackend()
	h, err := New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &site{t: t, b: b, url: ts.URL, c: c}
}

// get fetches path and returns the response and its body.
func (s *site) get(path string) (*http.Response, string) {
	s.t.Helper()
	r, err := s.c.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r, string(b)
}

// post sends a form and returns where it redirects.
func (s *site) post(path string, form url.Values) string {
	s.t.Helper()
	r, err := s.c.PostForm(s.url+path, form)
	if err != nil {
		s.t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("POST %s = %d, want 303", path, r.StatusCode)
	}
	return r.Header.Get("Location")
}

// page fetches path and fails unless it is a 200 page.
func (s *site) page(path string) string {
	s.t.Helper()
	r, body := s.get(path)
	if r.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s = %d, want 200", path, r.StatusCode)
	}
	return body
}

var sidPath = regexp.MustCompile(`^/k/([0-9a-f]{32})/menu$`)

// begin chooses lang on the start screen and returns the session's base path.
func (s *site) begin(lang string) string {
	s.t.Helper()
	loc := s.post("/", url.Values{"lang": {lang}})
	m := sidPath.FindStringSubmatch(loc)
	if m == nil {
		s.t.Fatalf("start in %s went to %q, want /k/<id>/menu", lang, loc)
	}
	return "/k/" + m[1] + "/"
}

// compose walks a new complaint to the review screen over plain HTTP, or
// up to the screen until.
func (s *site) compose(base, text, until string) {
	s.t.Helper()
	steps := []struct {
		screen string
		form   url.Values
		next   string
	}{
		{"menu", url.Values{"go": {"new"}}, "bodies"},
		{"bodies", url.Values{"body": {"KZ-NPM", "KZ-35-PROS"}}, "category"},
		{"category", url.Values{"category": {"medical"}}, "place"},
		{"place", url.Values{"zone": {"MED"}}, "time"},
		{"time", url.Values{"when": {"yesterday"}, "part": {"night"}}, "text"},
		{"text", url.Values{"text": {text}}, "identity"},
		{"identity", url.Values{"choice": {"anon"}}, "review"},
	}
	for _, st := range steps {
		if st.screen == until {
			return
		}
		s.page(base + st.screen)
		if got := s.post(base+st.screen, st.form); got != base+st.next {
			s.t.Fatalf("POST %s went to %s, want %s", st.screen, got, base+st.next)
		}
	}
}

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	locs, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		for k, v := range locs[l].msgs {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s.json: %q is empty", l, k)
			}
			for _, other := range Languages {
				if _, ok := locs[other].msgs[k]; !ok {
					t.Errorf("%s.json has %q, %s.json does not", l, k, other)
				}
			}
		}
	}
	// Every key of a domain value the screens name is in the catalogues.
	var want []string
	for _, c := range qorgau.Categories {
		want = append(want, "cat."+string(c))
	}
	for _, z := range qorgau.ZoneKinds {
		want = append(want, "zone."+string(z))
	}
	for _, b := range qorgau.BodyKinds {
		want = append(want, "body."+string(b))
	}
	for _, o := range qorgau.Outcomes {
		want = append(want, "outcome."+string(o))
	}
	for _, e := range qorgau.EvidenceKinds {
		want = append(want, "evidence."+string(e))
	}
	for _, s := range qorgau.ComplaintStates {
		want = append(want, "state."+string(s))
	}
	for _, w := range whens {
		want = append(want, "when."+w)
	}
	for _, p := range parts {
		want = append(want, "part."+p)
	}
	for name := range Screens {
		want = append(want, name+".title")
	}
	for _, k := range want {
		if _, ok := locs["en"].msgs[k]; !ok {
			t.Errorf("catalogues miss %q", k)
		}
	}
	// Keys the templates name literally.
	key := regexp.MustCompile(`\.T "([a-z0-9.\-]+)"`)
	files, _ := fs.Glob(assets, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(assets, f)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			if _, ok := locs["en"].msgs[m[1]]; !ok {
				t.Errorf("%s uses %q, missing from the catalogues", f, m[1])
			}
		}
	}
}

// TestCataloguesAreInTheirScript catches a Latin letter typed into a
// Cyrillic word (they look the same and speak wrong).
func TestCataloguesAreInTheirScript(t *testing.T) {
	locs, _ := loadLocales()
	word := regexp.MustCompile(`\pL+`)
	for _, l := range []string{"kk", "ru"} {
		for k, v := range locs[l].msgs {
			for _, w := range word.FindAllString(v, -1) {
				latin, cyr := 0, 0
				for _, r := range w {
					switch {
					case unicode.Is(unicode.Latin, r):
						latin++
					case unicode.Is(unicode.Cyrillic, r):
						cyr++
					}
				}
				if latin > 0 && cyr > 0 {
					t.Errorf("%s.json %q: word %q mixes Latin and Cyrillic letters", l, k, w)
				}
			}
		}
	}
}

// TestNoHardCodedText checks that templates hold no human text of their
// own: with actions, tags, comments and entities removed, only punctuation,
// digits and spaces may remain.
func TestNoHardCodedText(t *testing.T) {
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tags := regexp.MustCompile(`(?s)<[^>]*>`)
	entities := regexp.MustCompile(`&[a-z]+;|&#[0-9]+;`)
	letters := regexp.MustCompile(`\pL`)
	files, _ := fs.Glob(assets, "templates/*.html")
	if len(files) < len(Screens) {
		t.Fatalf("found %d templates, want at least %d", len(files), len(Screens))
	}
	for _, f := range files {
		b, _ := fs.ReadFile(assets, f)
		s := actions.ReplaceAllString(string(b), " ")
		s = tags.ReplaceAllString(s, " ")
		s = entities.ReplaceAllString(s, " ")
		if w := letters.FindAllString(s, -1); len(w) > 0 {
			t.Errorf("%s: hard-coded text %q; put it in the catalogues", f, strings.Join(w, ""))
		}
		// Attributes a person sees or hears must come from the catalogues too.
		for _, attr := range regexp.MustCompile(`(?:aria-label|title|placeholder|alt)="([^"{]*)"`).FindAllStringSubmatch(string(b), -1) {
			if letters.MatchString(attr[1]) {
				t.Errorf("%s: hard-coded attribute text %q", f, attr[1])
			}
		}
	}
}

// TestKazakhKeyboardHasEveryLetter reads the Kazakh layout of the on-screen
// keyboard and checks the whole Kazakh Cyrillic alphabet is on it.
func TestKazakhKeyboardHasEveryLetter(t *testing.T) {
	js, _ := fs.ReadFile(assets, "static/kiosk.js")
	layout := regexp.MustCompile(`(?s)\bkk: \[(.*?)\]\],`).FindSubmatch(js)
	if layout == nil {
		t.Fatal("no kk layout in kiosk.js")
	}
	const alphabet = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
	for _, r := range alphabet {
		if !strings.ContainsRune(string(layout[1]), r) {
			t.Errorf("the Kazakh keyboard has no %q", r)
		}
	}
	ru := regexp.MustCompile(`(?s)\bru: \[(.*?)\]\],`).FindSubmatch(js)
	for _, r := range "абвгдеёжзийклмнопрстуфхцчшщъыьэюя" {
		if ru == nil || !strings.ContainsRune(string(ru[1]), r) {
			t.Errorf("the Russian keyboard has no %q", r)
		}
	}
}

// TestAudioPrompts checks that every spoken prompt has its file in every
// language, made from the catalogue's current text, and that the set is small.
func TestAudioPrompts(t *testing.T) {
	locs, _ := loadLocales()
	b, err := fs.ReadFile(assets, "audio/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]string
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	total, files := 0, 0
	for _, l := range Languages {
		for k, text := range locs[l].msgs {
			name, ok := strings.CutPrefix(k, "say.")
			if !ok {
				continue
			}
			data, err := fs.ReadFile(assets, "audio/"+l+"/"+name+".ogg")
			if err != nil {
				t.Errorf("no prompt for %s %s; run go generate ./internal/kiosk/ui", l, k)
				continue
			}
			if !strings.HasPrefix(string(data), "OggS") {
				t.Errorf("audio/%s/%s.ogg is not Ogg", l, name)
			}
			h := sha256.Sum256([]byte(text))
			if manifest[l+"/"+name] != hex.EncodeToString(h[:8]) {
				t.Errorf("audio/%s/%s.ogg was made from other text than the catalogue's; run go generate ./internal/kiosk/ui", l, name)
			}
			total += len(data)
			files++
		}
		for name := range Screens {
			if name == "learn" {
				continue
			}
			if _, ok := locs[l].msgs["say."+name]; !ok {
				t.Errorf("screen %s has no spoken prompt in %s", name, l)
			}
		}
	}
	t.Logf("%d prompts, %d bytes", files, total)
	if total > 3<<20 {
		t.Errorf("the prompts weigh %d bytes, want at most 3 MB", total)
	}
}

// TestEveryResponseIsNotStored checks the headers of pages, redirects,
// scripts and sounds.
func TestEveryResponseIsNotStored(t *testing.T) {
	s := newSite(t, Options{})
	base := s.begin("ru")
	for _, p := range []string{"/", base + "menu", base + "bodies", "/audio/ru/menu.ogg", "/k/00000000000000000000000000000000/menu"} {
		r, _ := s.get(p)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", p, got)
		}
	}
	r, err := s.c.PostForm(s.url+base+"menu", url.Values{"go": {"new"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("POST menu: Cache-Control = %q, want no-store", got)
	}
}

// TestOnlyLoopbackAndSameOrigin refuses a foreign Host (DNS rebinding) and
// a cross-origin form.
func TestOnlyLoopbackAndSameOrigin(t *testing.T) {
	s := newSite(t, Options{})
	req, _ := http.NewRequest("GET", s.url+"/", nil)
	req.Host = "kiosk.evil.example"
	r, err := s.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("GET / with Host %s = %d, want 403", req.Host, r.StatusCode)
	}
	req, _ = http.NewRequest("POST", s.url+"/", strings.NewReader("lang=kk"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if r, err = s.c.Do(req); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST / = %d, want 403", r.StatusCode)
	}
	if n := s.b.reached["start"]; n != 0 {
		t.Errorf("a refused request counted %d starts", n)
	}
}

// TestFlowOverHTTP files a complaint with plain form posts (no script), in
// each language, and checks the draft, the counters and the wipe.
func TestFlowOverHTTP(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			s := newSite(t, Options{})
			base := s.begin(lang)
			s.compose(base, "Мне не дают лекарства. Қазақша: әғқңөұүһі", "")
			review := s.page(base + "review")
			for _, want := range []string{s.b.info.Bodies[0].Names[lang], "Медчасть", "әғқңөұүһі"} {
				if !strings.Contains(review, want) {
					t.Errorf("review does not show %q", want)
				}
			}
			if got := s.post(base+"review", url.Values{"urgent": {"1"}}); got != base+"sent" {
				t.Fatalf("send went to %s, want %ssent", got, base)
			}
			d, code, n := s.b.lastSent()
			if n != 1 {
				t.Fatalf("backend received %d drafts, want 1", n)
			}
			if d.Lang != lang || d.Kind != seal.KindComplaint || d.Category != qorgau.CategoryMedical || d.Zone != "MED" ||
				d.When != "yesterday" || d.PartOfDay != "night" || !d.Urgent || d.Identity != nil || d.TestCode != "" ||
				!slices.Equal(d.Bodies, []string{"KZ-NPM", "KZ-35-PROS"}) || d.Text != "Мне не дают лекарства. Қазақша: әғқңөұүһі" {
				t.Errorf("draft = %+v", d)
			}
			receipt := s.page(base + "sent")
			for _, g := range strings.Fields(seal.FormatCode(code)) {
				if !strings.Contains(receipt, ">"+g+"<") {
					t.Errorf("receipt does not show group %s of %s", g, code)
				}
			}
			// Sending again after the wipe does nothing: the draft is gone.
			if got := s.post(base+"review", nil); got != base+"menu" {
				t.Errorf("second send went to %s, want the menu", got)
			}
			if _, _, n := s.b.lastSent(); n != 1 {
				t.Errorf("backend received %d drafts, want 1", n)
			}
			if got := s.post(base+"over", nil); got != "/" {
				t.Errorf("finish went to %s, want /", got)
			}
			if r, _ := s.get(base + "review"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
				t.Errorf("after finishing, the session still answers: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			reached, abandoned := s.b.counts()
			for _, step := range []string{"start", "language", "menu", "bodies", "category", "place", "time", "text", "identity", "review", "sent"} {
				if reached[step] != 1 {
					t.Errorf("reached[%s] = %d, want 1", step, reached[step])
				}
			}
			if abandoned["sent"] != 1 || len(abandoned) != 1 {
				t.Errorf("abandoned = %v, want only sent once", abandoned)
			}
			for step := range reached {
				if !slices.Contains(qorgau.KioskSteps, step) {
					t.Errorf("counted step %q is not one of qorgau.KioskSteps", step)
				}
			}
		})
	}
}

// TestBadInputChangesNothing posts what the screens never offer.
func TestBadInputChangesNothing(t *testing.T) {
	s := newSite(t, Options{})
	base := s.begin("kk")
	s.post(base+"menu", url.Values{"go": {"new"}})
	for _, tt := range []struct {
		screen string
		form   url.Values
	}{
		{"bodies", url.Values{"body": {"NOT-A-BODY"}}},
		{"bodies", nil},
		{"category", url.Values{"category": {"spam"}}},
		{"time", url.Values{"when": {"tomorrow"}}},
		{"text", url.Values{"text": {"   "}}},
	} {
		got := s.post(base+tt.screen, tt.form)
		if !strings.HasPrefix(got, base+tt.screen+"?e=") {
			t.Errorf("POST %s %v went to %s, want the same screen with an error", tt.screen, tt.form, got)
		}
		body := s.page(got)
		if !strings.Contains(body, `class="error"`) {
			t.Errorf("%s does not show the error", got)
		}
	}
	if got := s.post(base+"check", url.Values{"code": {"1234"}}); got != base+"check?e=code" {
		t.Errorf("short code went to %s", got)
	}
	if got := s.post(base+"check", url.Values{"code": {"1234 5678 9012 3456"}}); got != base+"check?e=notfound" {
		t.Errorf("unknown code went to %s", got)
	}
	if r, body := s.get(base + "check?e=" + url.QueryEscape("<b>pwned")); r.StatusCode != 200 || strings.Contains(body, "pwned") ||
		!strings.Contains(body, s.locale("kk").T("error.generic")) {
		t.Errorf("an error key from the address reached the page")
	}
	if _, _, n := s.b.lastSent(); n != 0 {
		t.Errorf("backend received %d drafts, want 0", n)
	}
}

// TestNameFormBackLeadsToTheChoice checks that a person who chose to give a
// name can go back from the name form and stay anonymous: Back on the form
// must show the choice, not the form again.
func TestNameFormBackLeadsToTheChoice(t *testing.T) {
	s := newSite(t, Options{})
	base := s.begin("kk")
	s.compose(base, "суық", "identity")
	if got, want := s.post(base+"identity", url.Values{"choice": {"named"}}), base+"identity?form=1"; got != want {
		t.Fatalf("choosing to give a name went to %s, want %s", got, want)
	}
	if body := s.page(base + "identity?form=1"); !strings.Contains(body, `id="name"`) {
		t.Fatalf("identity?form=1 does not show the name form")
	}
	body := s.page(base + "identity")
	if strings.Contains(body, `id="name"`) || !strings.Contains(body, `value="anon"`) {
		t.Fatalf("Back from the name form shows the form again, want the choice to stay anonymous")
	}
	if got, want := s.post(base+"identity", url.Values{"choice": {"anon"}}), base+"review"; got != want {
		t.Fatalf("staying anonymous went to %s, want %s", got, want)
	}
}

// TestServerWipesAnIdleSession checks the server's own backstop: a session
// nobody touches is wiped and counted as abandoned where it was.
func TestServerWipesAnIdleSession(t *testing.T) {
	s := newSite(t, Options{Idle: 200 * time.Millisecond})
	base := s.begin("ru")
	s.post(base+"menu", url.Values{"go": {"new"}})
	s.page(base + "bodies")
	s.post(base+"bodies", url.Values{"body": {"KZ-NPM"}})
	s.page(base + "category")
	// Asking would touch the session: watch the counters instead.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, abandoned := s.b.counts(); len(abandoned) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session was not wiped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r, _ := s.get(base + "category"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Errorf("the wiped session still answers: %d", r.StatusCode)
	}
	if _, abandoned := s.b.counts(); abandoned["category"] != 1 {
		t.Errorf("abandoned = %v, want category once", abandoned)
	}
}

// TestNewSessionEndsTheOld: one person at a time.
func TestNewSessionEndsTheOld(t *testing.T) {
	s := newSite(t, Options{})
	old := s.begin("kk")
	s.post(old+"menu", url.Values{"go": {"new"}})
	s.page(old + "bodies")
	s.begin("ru")
	if r, _ := s.get(old + "bodies"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the old session still answers after a new one began")
	}
	if _, abandoned := s.b.counts(); abandoned["bodies"] != 1 {
		t.Errorf("abandoned = %v, want bodies once", abandoned)
	}
}

// TestVoiceUpload posts a recording as the page does and checks it reaches
// the draft, and that deleting it works.
func TestVoiceUpload(t *testing.T) {
	s := newSite(t, Options{})
	base := s.begin("kk")
	s.compose(base, "", "text")
	up := func(data, typ string) int {
		req, _ := http.NewRequest("POST", s.url+base+"voice", strings.NewReader(data))
		req.Header.Set("Content-Type", typ)
		req.Header.Set("X-Kiosk", "1")
		r, err := s.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if code := up("not audio", "text/html"); code != http.StatusUnsupportedMediaType {
		t.Errorf("upload of text/html = %d, want 415", code)
	}
	if code := up("\x1aE\xdf\xa3webm opus", "audio/webm;codecs=opus"); code != http.StatusNoContent {
		t.Fatalf("upload = %d, want 204", code)
	}
	if got := s.post(base+"text", url.Values{"text": {""}}); got != base+"identity" {
		t.Fatalf("text with a recording went to %s, want identity", got)
	}
	s.post(base+"identity", url.Values{"choice": {"anon"}})
	if !strings.Contains(s.page(base+"review"), s.locale("kk").T("review.voice")) {
		t.Error("review does not mention the recording")
	}
	s.post(base+"review", nil)
	d, _, _ := s.b.lastSent()
	if d.Voice == nil || d.Voice.Type != "audio/webm;codecs=opus" || string(d.Voice.Data) != "\x1aE\xdf\xa3webm opus" {
		t.Errorf("voice = %+v", d.Voice)
	}
}

func (s *site) locale(lang string) *locale {
	locs, _ := loadLocales()
	return locs[lang]
}

// TestReviewAndReceiptNotes checks what the review and receipt screens say
// beyond the draft: the bodies an urgent complaint also goes to, a failed
// send, an offline kiosk and a printed receipt.
func TestReviewAndReceiptNotes(t *testing.T) {
	s := newSite(t, Options{})
	en := s.locale("en")
	base := s.begin("en")
	s.post(base+"menu", url.Values{"go": {"new"}})
	s.post(base+"bodies", url.Values{"body": {"KZ-OMB"}})
	s.post(base+"category", url.Values{"category": {"torture"}})
	s.post(base+"place", url.Values{"zone": {""}})
	s.post(base+"time", url.Values{"when": {"earlier"}})
	s.post(base+"text", url.Values{"text": {"They beat me <b>at night</b>"}})
	s.post(base+"identity", url.Values{"choice": {"anon"}})
	review := s.page(base + "review")
	for _, want := range []string{en.T("review.also"), "Karaganda Region Prosecutor", "National Preventive Mechanism",
		en.T("review.anonymous"), "They beat me &lt;b&gt;at night&lt;/b&gt;"} {
		if !strings.Contains(review, want) {
			t.Errorf("review does not show %q", want)
		}
	}
	s.b.failSend = true
	if got := s.post(base+"review", nil); got != base+"review?e=send" {
		t.Fatalf("a failed send went to %s", got)
	}
	if !strings.Contains(s.page(base+"review?e=send"), en.T("error.send")) {
		t.Error("a failed send is not explained")
	}
	s.b.failSend = false
	s.b.info.Online, s.b.info.Printer = false, true
	if got := s.post(base+"review", nil); got != base+"sent" {
		t.Fatalf("send went to %s", got)
	}
	receipt := s.page(base + "sent")
	for _, want := range []string{en.T("sent.queued"), en.T("sent.printed"), en.T("sent.remember")} {
		if !strings.Contains(receipt, want) {
			t.Errorf("receipt does not say %q", want)
		}
	}
	// The receipt speaks the code digit by digit after its prompt.
	_, code, _ := s.b.lastSent()
	if !strings.Contains(receipt, "/audio/en/sent.ogg /audio/en/d"+code[:1]+".ogg") {
		t.Error("the receipt does not speak the code")
	}
}

// TestAnswerHistoryFacts shows the facts of a complaint's history (the
// new term, the new body, the outcome and what the body checked, the
// missed term) in the person's language, from the catalogues.
func TestAnswerHistoryFacts(t *testing.T) {
	code := seal.NewReceiptCode()
	filed := time.Date(2026, 11, 2, 9, 30, 0, 0, time.Local)
	term := time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC)
	want := map[string][]string{
		"kk": {"Жаңа мерзім: 30.12.2026 дейін", "Мерзім 30.12.2026 аяқталды", "Жіберілген орган: Ұлттық алдын алу тетігі",
			"Нәтижесі: шағымыңыз ішінара қанағаттандырылды", "Орган не тексерді: медициналық куәландыру, бейнежазбалар"},
		"ru": {"Новый срок: до 30.12.2026", "Срок закончился 30.12.2026", "Передана в: Национальный превентивный механизм",
			"Итог: жалоба удовлетворена частично", "Что проверил орган: медицинское освидетельствование, видеозаписи"},
		"en": {"New term: until 30.12.2026", "The term ended on 30.12.2026", "Sent on to: National Preventive Mechanism",
			"Result: your complaint was partly upheld", "What the body checked: a medical examination, video recordings"},
	}
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			s := newSite(t, Options{})
			s.b.answers[code] = []kiosk.Answer{{
				Complaint: 42, Filed: filed, Bodies: []string{"KZ-35-PROS", "KZ-NPM"}, State: qorgau.StateClosed,
				History: []kiosk.AnswerEvent{
					{Time: filed.Add(time.Hour), State: qorgau.StateExtended, Body: "KZ-35-PROS", Term: term},
					{Time: filed.Add(2 * time.Hour), State: qorgau.EventOverdue, Body: "KZ-35-PROS", Term: term},
					{Time: filed.Add(3 * time.Hour), State: qorgau.StateRedirected, Body: "KZ-35-PROS", To: "KZ-NPM"},
					{Time: filed.Add(4 * time.Hour), State: qorgau.StateClosed, Body: "KZ-NPM", Outcome: qorgau.OutcomePartly,
						Evidence: []qorgau.Evidence{qorgau.EvidenceMedical, qorgau.EvidenceFootage}},
				},
			}}
			base := s.begin(lang)
			if got := s.post(base+"check", url.Values{"code": {seal.FormatCode(code)}}); got != base+"answer" {
				t.Fatalf("check went to %s, want %sanswer", got, base)
			}
			page := html.UnescapeString(s.page(base + "answer"))
			for _, w := range want[lang] {
				if !strings.Contains(page, w) {
					t.Errorf("answer screen lacks %q", w)
				}
			}
		})
	}
}

// TestRefusedTestCode tells a monitor at once that a test code cannot be
// used, when it is typed and when the test complaint is sent, and sends
// nothing.
func TestRefusedTestCode(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			s := newSite(t, Options{})
			base := s.begin(lang)
			msg := html.EscapeString(s.locale(lang).T("error.testcode"))
			if got := s.post(base+"monitor", url.Values{"code": {"1111 2222 3333 4444"}}); got != base+"monitor?e=testcode" {
				t.Fatalf("an unknown code went to %s, want the monitor screen with the error", got)
			}
			if page := s.page(base + "monitor?e=testcode"); !strings.Contains(page, msg) {
				t.Errorf("the monitor screen does not say %q", msg)
			}
			if got := s.post(base+"monitor", url.Values{"code": {"T7K2"}}); got != base+"bodies" {
				t.Fatalf("a good code went to %s, want the bodies", got)
			}
			s.compose(base, "Проверка НПМ.", "")
			// The code expires while the monitor writes.
			s.b.mu.Lock()
			delete(s.b.testCodes, "T7K2")
			s.b.mu.Unlock()
			if got := s.post(base+"review", nil); got != base+"monitor?e=testcode" {
				t.Fatalf("sending with an expired code went to %s, want the monitor screen with the error", got)
			}
			if _, _, n := s.b.lastSent(); n != 0 {
				t.Errorf("the backend queued %d drafts, want none", n)
			}
			// The draft is gone: sending again starts over.
			if got := s.post(base+"review", nil); got != base+"menu" {
				t.Errorf("sending again went to %s, want the menu", got)
			}
		})
	}
}
