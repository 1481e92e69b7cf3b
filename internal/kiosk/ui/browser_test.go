package ui

// The browser tests drive the kiosk in a real, headless Chromium at the
// kiosk's screen size (1280×800), with a fake microphone: the whole flow in
// Kazakh and in Russian, checking an answer, the walk-through and the
// monitors' test complaint, and the inactivity wipe. Every screen is
// screenshot and checked with axe-core (testdata/axe.min.js, axe-core 4.11.0
// from npm, MPL-2.0): no serious or critical violations. Set
// QORGAU_SCREENSHOTS=DIR to keep the screenshots. The harness is
// internal/browsertest.

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/browsertest"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// kbrowser is one headless Chromium on the kiosk UI over a fake backend.
type kbrowser struct {
	*browsertest.Browser
	b    *fakeBackend
	h    *ui
	base string
	// touches are the measured times from a touch to the next screen.
	touches []time.Duration
}

// newKBrowser starts Chromium at the kiosk's screen size, configured as
// the kiosk runs it: a microphone without asking (Chromium's fake one in
// the test) and prompts that play without a gesture.
func newKBrowser(t *testing.T, o Options) *kbrowser {
	t.Helper()
	fb := newFakeBackend()
	h, err := New(fb, o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	br := browsertest.New(t, 1280, 800,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
	)
	return &kbrowser{Browser: br, b: fb, h: h.(*guarded).ui, base: ts.URL}
}

var axeSource = func() string {
	b, err := os.ReadFile("testdata/axe.min.js")
	if err != nil {
		return ""
	}
	return string(b)
}()

// axeViolation is what the test reports of one axe-core finding.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// check screenshots the screen and runs axe-core on it: serious and
// critical violations fail the test.
func (b *kbrowser) check(step string) {
	b.T.Helper()
	b.Shot(step)
	if axeSource == "" {
		b.T.Fatal("testdata/axe.min.js is missing")
	}
	browsertest.Run(b.Browser, "inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource+";void 0"))
	out := browsertest.Run(b.Browser, "run axe-core on "+step, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(function (r) {
		return JSON.stringify(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; }).map(function (v) {
			return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(function (n) { return n.target.join(' ') + ': ' + n.failureSummary; })};
		}));
	})`, chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.T.Fatalf("axe-core on %s: %v", step, err)
	}
	for _, v := range vs {
		b.T.Errorf("axe-core on %s: %s %s (%s)\n\t%s", step, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// open loads a path and waits for the screen.
func (b *kbrowser) open(path, screen string) {
	b.T.Helper()
	b.Do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("body.s-"+screen)))
}

// touch clicks sel and waits for screen. Between the screens of a session
// the page swaps its body in place; the test measures, in the browser, the
// time from the click to the frame that shows the new screen. (A full load,
// to and from the start screen, is not measured.)
func (b *kbrowser) touch(sel, screen string) {
	b.T.Helper()
	b.Do("arm the clock", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.kioskClock = {};
		document.addEventListener('click', function () { window.kioskClock.click = performance.now(); }, {capture: true, once: true});
		new MutationObserver(function (ms, obs) {
			if (!document.body || !document.body.classList.contains(%q) || !window.kioskClock.click) return;
			obs.disconnect();
			requestAnimationFrame(function () { window.kioskClock.shown = performance.now(); });
		}).observe(document.documentElement, {childList: true});
		void 0`, "s-"+screen)))
	b.Do("touch "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS("body.s-"+screen)))
	ms := browsertest.Run(b.Browser, "read the clock", chromedp.Evaluate[float64](`new Promise(function (done) {
		var tries = 0;
		(function read() {
			var c = window.kioskClock;
			if (!c) return done(-1); // a full load
			if (c.shown) return done(c.shown - c.click);
			if (++tries > 50) return done(-1);
			setTimeout(read, 10);
		})();
	})`, chromedp.EvalAwaitPromise))
	if ms >= 0 {
		b.touches = append(b.touches, time.Duration(ms*float64(time.Millisecond)))
	}
}

// tap clicks sel without leaving the screen.
func (b *kbrowser) tap(sel string) {
	b.T.Helper()
	b.Do("tap "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// typeKeys types s on the on-screen keyboard, key by key.
// A digit on a letter layout is typed from the digits layout.
func (b *kbrowser) typeKeys(s string) {
	b.T.Helper()
	for _, r := range s {
		sel := fmt.Sprintf(`.kb .key[data-k=%q]`, string(r))
		if r == ' ' {
			sel = `.kb .key[data-k="space"]`
		}
		if browsertest.Run(b.Browser, "find "+sel, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, sel))) {
			b.tap(sel)
			continue
		}
		b.tap(`.kb .key[data-k="mode"]`)
		b.tap(sel)
		b.tap(`.kb .key[data-k="mode"]`)
	}
}

func (b *kbrowser) text(sel string) string {
	b.T.Helper()
	return browsertest.Run(b.Browser, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (b *kbrowser) value(sel string) string {
	b.T.Helper()
	return browsertest.Run(b.Browser, "read "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// wantNoSidewaysScroll checks that the page is no wider than the screen.
func (b *kbrowser) wantNoSidewaysScroll(step string) {
	b.T.Helper()
	over := browsertest.Run(b.Browser, "measure", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if over > 0 {
		b.T.Errorf("%s: the page is %d px wider than the screen", step, over)
	}
}

// wantTargets checks every button, link and key is at least 64 px high
// and wide.
func (b *kbrowser) wantTargets(step string) {
	b.T.Helper()
	small := browsertest.Run(b.Browser, "measure targets", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('button, a[href], label.tile, .key')).filter(function (e) {
		var r = e.getBoundingClientRect();
		return r.width > 0 && (r.width < 63.5 || r.height < 63.5);
	}).map(function (e) { var r = e.getBoundingClientRect(); return (e.className || e.tagName) + ' ' + (e.textContent || '').trim().slice(0, 20) + ' ' + Math.round(r.width) + '×' + Math.round(r.height); })`))
	for _, s := range small {
		b.T.Errorf("%s: touch target smaller than 64 px: %s", step, s)
	}
}

// wantAboveBar checks that every control of the screen is in sight above
// the bar of buttons at the bottom, without scrolling: a key under the bar
// is a key a person does not know is there.
func (b *kbrowser) wantAboveBar(step string) {
	b.T.Helper()
	hidden := browsertest.Run(b.Browser, "measure the bar", chromedp.Evaluate[[]string](`(function () {
		window.scrollTo(0, 0);
		var nav = document.querySelector('.nav');
		if (!nav) return [];
		var top = nav.getBoundingClientRect().top;
		return Array.from(document.querySelectorAll('main button, main a[href], main input:not([type=radio]):not([type=checkbox]), main textarea, main label.tile, main .key')).filter(function (e) {
			var r = e.getBoundingClientRect();
			return r.width > 0 && !nav.contains(e) && r.bottom > top + 0.5;
		}).map(function (e) { return (e.className || e.tagName) + ' ' + (e.textContent || e.id || '').trim().slice(0, 20) + ' ends at ' + Math.round(e.getBoundingClientRect().bottom) + ' px, the bar starts at ' + Math.round(top); });
	})()`))
	for _, s := range hidden {
		b.T.Errorf("%s: under the bar of buttons: %s", step, s)
	}
}

// screen checks a screen the way a person would meet it.
func (b *kbrowser) screen(step string) {
	b.T.Helper()
	b.check(step)
	b.wantNoSidewaysScroll(step)
	b.wantTargets(step)
	b.wantAboveBar(step)
	if n := browsertest.Run(b.Browser, "count storage", chromedp.Evaluate[int](`localStorage.length + sessionStorage.length + document.cookie.length`)); n != 0 {
		b.T.Errorf("%s: the browser stores %d items", step, n)
	}
}

func (b *kbrowser) reportTouches() {
	if len(b.touches) == 0 {
		return
	}
	s := slices.Clone(b.touches)
	slices.Sort(s)
	b.T.Logf("touch → the frame that shows the next screen, measured in the browser (noisy on a shared machine): %d touches, median %v, max %v",
		len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// complaint walks a whole new complaint in lang and checks what the
// backend received and the receipt.
func complaint(t *testing.T, lang, text, typed string, named bool) {
	b := newKBrowser(t, Options{})
	defer b.reportTouches()
	b.open("/", "start")
	b.screen("start")
	b.touch(`button[name=lang][value=`+lang+`]`, "menu")
	b.screen("menu")
	b.touch(`button[name=go][value=new]`, "bodies")
	b.tap(`label:has(input[value="KZ-NPM"])`)
	b.tap(`label:has(input[value="KZ-35-PROS"])`)
	b.screen("bodies")
	b.touch(`.nav .next`, "category")
	b.screen("category")
	b.touch(`button[value=violence-staff]`, "place")
	b.screen("place")
	b.touch(`button[value=C1]`, "time")
	b.tap(`label:has(input[value=yesterday])`)
	b.tap(`label:has(input[value=evening])`)
	b.screen("time")
	b.touch(`.nav .next`, "text")
	b.touch(`.nav .next`, "text") // nothing written yet: the screen says so
	b.screen("text-error")
	b.typeKeys(typed)
	if got := b.value("#text"); got != text {
		b.Fatalf("the keyboard typed %q, want %q", got, text)
	}
	b.screen("text")
	b.touch(`.nav .next`, "identity")
	b.screen("identity")
	if named {
		b.touch(`button[value=named]`, "identity")
		b.touch(`.nav .next`, "identity") // no name yet
		b.screen("identity-form-error")
		b.typeKeys("әлия")
		b.tap(`#detail`)
		b.typeKeys("жасақ 3")
		b.screen("identity-form")
		b.touch(`.nav .next`, "review")
	} else {
		b.touch(`button[value=anon]`, "review")
	}
	b.tap(`label.urgent`)
	b.screen("review")
	for _, want := range []string{text, b.b.info.Bodies[0].Names[lang], "Коридор 1-го этажа"} {
		if got := b.text("dl.review"); !strings.Contains(got, want) {
			b.Fatalf("review shows %q, want it to contain %q", got, want)
		}
	}
	b.touch(`button.send`, "sent")
	b.screen("sent")
	d, code, n := b.b.lastSent()
	if n != 1 {
		b.Fatalf("the backend received %d drafts, want 1", n)
	}
	if got, want := strings.Join(strings.Fields(b.text("#code")), " "), seal.FormatCode(code); got != want {
		b.Fatalf("receipt shows %q, want %q", got, want)
	}
	want := kiosk.Draft{Lang: lang, Kind: seal.KindComplaint, Bodies: []string{"KZ-NPM", "KZ-35-PROS"},
		Category: qorgau.CategoryViolenceStaff, Zone: "C1", When: "yesterday", PartOfDay: "evening", Text: text, Urgent: true}
	if named {
		want.Identity = &seal.Identity{Name: "Әлия", Detail: "жасақ 3"}
	}
	if got := d; got.Lang != want.Lang || got.Kind != want.Kind || !slices.Equal(got.Bodies, want.Bodies) || got.Category != want.Category ||
		got.Zone != want.Zone || got.When != want.When || got.PartOfDay != want.PartOfDay || got.Text != want.Text || got.Urgent != want.Urgent ||
		(got.Identity == nil) != (want.Identity == nil) || (got.Identity != nil && *got.Identity != *want.Identity) || got.Voice != nil || got.TestCode != "" {
		b.Fatalf("backend received %+v (identity %+v), want %+v (identity %+v)", got, got.Identity, want, want.Identity)
	}
	b.touch(`.nav button.primary`, "start")
	if n := b.h.sessions.len(); n != 0 {
		b.T.Errorf("%d sessions live after finishing, want 0", n)
	}
	if h := browsertest.Run(b.Browser, "history", chromedp.Evaluate[int](`history.length`)); h > 2 {
		b.T.Errorf("the browser's history holds %d entries, want at most 2", h)
	}
}

func TestBrowserComplaintKazakh(t *testing.T) {
	// The first letter is capitalised by itself; every Kazakh letter is typed.
	complaint(t, "kk", "Мені ұрды. Әғқңөұүһі бар", "мені ұрды. әғқңөұүһі бар", true)
}

func TestBrowserComplaintRussian(t *testing.T) {
	complaint(t, "ru", "Меня избили вечером", "меня избили вечером", false)
}

// TestBrowserVoice records with Chromium's fake microphone and sends the
// recording without text.
func TestBrowserVoice(t *testing.T) {
	b := newKBrowser(t, Options{})
	b.open("/", "start")
	b.touch(`button[value=ru]`, "menu")
	b.touch(`button[value=new]`, "bodies")
	b.tap(`label:has(input[value="KZ-OMB"])`)
	b.touch(`.nav .next`, "category")
	b.touch(`button[value=medical]`, "place")
	b.touch(`button[value=""]`, "time")
	b.tap(`label:has(input[value=today])`)
	b.touch(`.nav .next`, "text")
	b.tap(`[data-act=rec]`)
	b.Do("wait for recording", chromedp.WaitVisible(chromedp.CSS(`[data-act=stop]`)), chromedp.Sleep(1500*time.Millisecond))
	b.Shot("recording")
	b.tap(`[data-act=stop]`)
	b.Do("wait for upload", chromedp.WaitVisible(chromedp.CSS(`[data-state=done]`)))
	b.screen("recorded")
	b.touch(`.nav .next`, "identity")
	b.touch(`button[value=anon]`, "review")
	b.touch(`button.send`, "sent")
	d, _, _ := b.b.lastSent()
	if d.Voice == nil || !strings.HasPrefix(d.Voice.Type, "audio/webm") || len(d.Voice.Data) < 100 || d.Text != "" || d.Zone != "" {
		b.Fatalf("backend received text %q zone %q voice %v", d.Text, d.Zone, d.Voice != nil)
	}
	t.Logf("1.5 s of voice: %d bytes of %s", len(d.Voice.Data), d.Voice.Type)
}

// TestBrowserCheckAnswer types a receipt code on the keypad, reads the
// reply and confirms it.
func TestBrowserCheckAnswer(t *testing.T) {
	var sp promptSpeaker
	b := newKBrowser(t, Options{Speak: sp.speak})
	defer b.reportTouches()
	code := seal.NewReceiptCode()
	filed := time.Date(2026, 11, 2, 9, 30, 0, 0, time.Local)
	b.b.answers[code] = []kiosk.Answer{{
		Complaint: 42, Filed: filed, Bodies: []string{"KZ-35-PROS"}, State: qorgau.StateAnswered,
		History: []kiosk.AnswerEvent{
			{Time: filed.Add(time.Minute), State: qorgau.StateDelivered, Body: "KZ-35-PROS"},
			{Time: filed.Add(48 * time.Hour), State: qorgau.StateRegistered, Body: "KZ-35-PROS"},
			{Time: filed.Add(240 * time.Hour), State: qorgau.StateAnswered, Body: "KZ-35-PROS"},
		},
		Replies: []kiosk.AnswerReply{{Time: filed.Add(240 * time.Hour), Body: "KZ-35-PROS",
			Text: "Проверка проведена. Вас осмотрит врач 14 ноября.\n\nПрокурор по надзору"}},
	}}
	b.open("/", "start")
	b.touch(`button[value=ru]`, "menu")
	b.touch(`button[value=check]`, "check")
	for _, d := range code[:5] + "9" {
		b.tap(fmt.Sprintf(`.keypad [data-d="%c"]`, d))
	}
	b.tap(`.keypad [data-d=erase]`)
	for _, d := range code[5:] {
		b.tap(fmt.Sprintf(`.keypad [data-d="%c"]`, d))
	}
	if got := b.value("#code"); got != seal.FormatCode(code) {
		b.Fatalf("the keypad shows %q, want %q", got, seal.FormatCode(code))
	}
	b.screen("check")
	b.touch(`.nav button.primary`, "answer")
	b.screen("answer")
	if got := b.text("main"); !strings.Contains(got, "Вас осмотрит врач 14 ноября") || !strings.Contains(got, "Прокуратура Карагандинской области") {
		b.Fatalf("answer screen shows %q", got)
	}
	b.tap(`.answer .listen`)
	for deadline := time.Now().Add(browsertest.StepTimeout); ; time.Sleep(50 * time.Millisecond) {
		sp.mu.Lock()
		n := len(sp.asked)
		sp.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			b.fatal("touching Listen did not read the answer aloud")
		}
	}
	b.touch(`.answer form button`, "answer")
	b.screen("answer-read")
	if !slices.Equal(b.b.read, []int64{42}) {
		b.Fatalf("backend confirmed %v, want [42]", b.b.read)
	}
	if got := b.text("main"); !strings.Contains(got, b.h.locales["ru"].T("answer.thanks")) {
		b.Fatalf("no thanks after reading: %q", got)
	}
	// A wrong code says so and changes nothing.
	b.touch(`.nav .back`, "check")
	for range 16 {
		b.tap(`.keypad [data-d="7"]`)
	}
	b.touch(`.nav button.primary`, "check")
	b.screen("check-notfound")
	if got := b.text(".error"); got != b.h.locales["ru"].T("error.notfound") {
		b.Fatalf("error = %q", got)
	}
}

// TestBrowserLearnAndTest walks the illustrated explanation, then a
// monitor's test complaint.
func TestBrowserLearnAndTest(t *testing.T) {
	b := newKBrowser(t, Options{})
	b.open("/", "start")
	b.touch(`button[value=kk]`, "menu")
	b.touch(`button[value=learn]`, "learn")
	for i := 1; i <= learnSlides; i++ {
		b.screen(fmt.Sprintf("learn%d", i))
		if i < learnSlides {
			b.touch(`.nav .next`, "learn")
		}
	}
	b.touch(`.discreet a`, "monitor")
	b.typeKeys("T7K2")
	b.screen("monitor")
	b.touch(`.nav button.primary`, "bodies")
	if !strings.Contains(b.text(".test"), b.h.locales["kk"].T("test.banner")) {
		b.fatal("no test banner")
	}
	b.tap(`label:has(input[value="KZ-NPM"])`)
	b.touch(`.nav .next`, "category")
	b.touch(`button[value=other]`, "place")
	b.touch(`button[value=B1]`, "time")
	b.tap(`label:has(input[value=week])`)
	b.touch(`.nav .next`, "text")
	b.typeKeys("тест")
	b.touch(`.nav .next`, "identity")
	b.touch(`button[value=anon]`, "review")
	b.touch(`button.send`, "sent")
	d, _, _ := b.b.lastSent()
	if d.TestCode != "T7K2" || d.Text != "Тест" {
		b.Fatalf("backend received test code %q text %q, want T7K2 and Тест", d.TestCode, d.Text)
	}
}

// TestBrowserIdleWipe leaves a half-written complaint alone: the warning
// comes, then the screen and the server's memory are wiped and the start
// screen returns.
func TestBrowserIdleWipe(t *testing.T) {
	b := newKBrowser(t, Options{Idle: 9 * time.Second})
	b.open("/", "start")
	b.touch(`button[value=kk]`, "menu")
	b.touch(`button[value=new]`, "bodies")
	b.tap(`label:has(input[value="KZ-NPM"])`)
	b.touch(`.nav .next`, "category")
	b.touch(`button[value=threats]`, "place")
	b.touch(`button[value=B1]`, "time")
	b.tap(`label:has(input[value=today])`)
	b.touch(`.nav .next`, "text")
	b.typeKeys("құпия сөз")
	sid := browsertest.Run(b.Browser, "session id", chromedp.Evaluate[string](`document.body.dataset.sid`))
	b.Do("wait for the warning", chromedp.WaitVisible(chromedp.ID("idle")))
	b.screen("idle-warning")
	b.Do("wait for the wipe", chromedp.WaitVisible(chromedp.CSS("body.s-start")))
	b.Shot("wiped")
	if n := b.h.sessions.len(); n != 0 {
		b.Fatalf("%d sessions live after the wipe, want 0", n)
	}
	if _, abandoned := b.b.counts(); abandoned["text"] != 1 {
		b.Fatalf("abandoned = %v, want text once", abandoned)
	}
	if got := browsertest.Run(b.Browser, "page text", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(got, "құпия") || strings.Contains(got, sid) {
		b.fatal("the start screen still holds the draft or the session")
	}
	if h := browsertest.Run(b.Browser, "history", chromedp.Evaluate[int](`history.length`)); h > 2 {
		b.T.Errorf("the browser's history holds %d entries, want at most 2", h)
	}
	// The old address leads back to the start.
	b.open("/k/"+sid+"/text", "start")
	if _, _, n := b.b.lastSent(); n != 0 {
		b.Fatalf("backend received %d drafts, want 0", n)
	}
}

func (b *kbrowser) fatal(msg string) { b.T.Helper(); b.Fatalf("%s", msg) }

// TestBrowserAxeFindsViolations proves the accessibility check can fail: a
// button without a name on a kiosk screen is a critical violation.
func TestBrowserAxeFindsViolations(t *testing.T) {
	b := newKBrowser(t, Options{})
	b.open("/", "start")
	b.Do("break the page", chromedp.Evaluate[chromedp.Void](`document.querySelector('main').appendChild(document.createElement('button')); void 0`))
	browsertest.Run(b.Browser, "inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource+";void 0"))
	out := browsertest.Run(b.Browser, "run axe-core", chromedp.Evaluate[string](`axe.run(document).then(function (r) {
		return r.violations.filter(function (v) { return v.impact === 'critical'; }).map(function (v) { return v.id; }).join(' ');
	})`, chromedp.EvalAwaitPromise))
	if !strings.Contains(out, "button-name") {
		t.Errorf("axe-core found %q on a page with a nameless button, want button-name", out)
	}
}
