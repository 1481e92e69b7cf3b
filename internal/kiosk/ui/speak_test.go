package ui

import (
	"context"
	"io/fs"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// promptSpeaker speaks every text with one of the kiosk's own prompts and
// remembers what it was asked.
type promptSpeaker struct {
	mu    sync.Mutex
	asked []string // lang + ": " + text
}

func (p *promptSpeaker) speak(ctx context.Context, lang, text string) ([]byte, string, error) {
	p.mu.Lock()
	p.asked = append(p.asked, lang+": "+text)
	p.mu.Unlock()
	b, err := fs.ReadFile(assets, "audio/"+lang+"/menu.ogg")
	return b, "audio/ogg", err
}

// answered puts a complaint with two replies under a new code.
func answered(b *fakeBackend) string {
	code := seal.NewReceiptCode()
	b.answers[code] = []kiosk.Answer{{Complaint: 7, Filed: time.Now(), Bodies: []string{"KZ-NPM"}, State: qorgau.StateAnswered,
		Replies: []kiosk.AnswerReply{
			{Time: time.Now(), Body: "KZ-NPM", Text: "Проверка проведена."},
			{Time: time.Now(), Body: "KZ-NPM", Text: "Тексеру жүргізілді, дәрігер қарайды."},
		}}}
	return code
}

func TestHearAnAnswer(t *testing.T) {
	var sp promptSpeaker
	s := newSite(t, Options{Speak: sp.speak})
	code := answered(s.b)
	base := s.begin("en")
	s.post(base+"check", url.Values{"code": {code}})
	page := s.page(base + "answer")
	if n := strings.Count(page, "data-say="); n != 2 {
		t.Fatalf("answer screen has %d listen buttons, want 2", n)
	}
	for _, tt := range []struct {
		query, want string
	}{{"c=7&r=0", "ru: Проверка проведена."}, {"c=7&r=1", "kk: Тексеру жүргізілді, дәрігер қарайды."}} {
		r, body := s.get(base + "hear?" + tt.query)
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "audio/ogg" || !strings.HasPrefix(body, "OggS") {
			t.Errorf("hear?%s = %d %s", tt.query, r.StatusCode, r.Header.Get("Content-Type"))
		}
		if got := sp.asked[len(sp.asked)-1]; got != tt.want {
			t.Errorf("hear?%s spoke %q, want %q", tt.query, got, tt.want)
		}
	}
	for _, q := range []string{"c=7&r=2", "c=8&r=0", "c=7&r=-1", "c=7"} {
		if r, _ := s.get(base + "hear?" + q); r.StatusCode != 404 {
			t.Errorf("hear?%s = %d, want 404", q, r.StatusCode)
		}
	}

	// Without a speaker there is no button.
	s2 := newSite(t, Options{})
	code = answered(s2.b)
	base = s2.begin("ru")
	s2.post(base+"check", url.Values{"code": {code}})
	if strings.Contains(s2.page(base+"answer"), "data-say=") {
		t.Error("a listen button without a speaker")
	}
	if r, _ := s2.get(base + "hear?c=7&r=0"); r.StatusCode != 404 {
		t.Errorf("hear without a speaker = %d, want 404", r.StatusCode)
	}
}

// TestEspeak speaks with the real espeak-ng, which the kiosk's image
// installs; the test skips where it is missing.
func TestEspeak(t *testing.T) {
	path, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("no espeak-ng on PATH (Debian: apt-get install espeak-ng)")
	}
	for _, lang := range Languages {
		audio, typ, err := Espeak(path)(t.Context(), lang, "Сәлем. Привет. Hello.")
		if err != nil {
			t.Fatal(err)
		}
		if !(typ == "audio/ogg" && strings.HasPrefix(string(audio), "OggS")) && !(typ == "audio/wav" && strings.HasPrefix(string(audio), "RIFF")) {
			t.Errorf("Espeak(%s) = %d bytes of %s", lang, len(audio), typ)
		}
	}
}

func TestTextLang(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"Проверка проведена", "ru"}, {"Тексеру жүргізілді", "kk"}, {"ҚАЗАҚ", "kk"}, {"Checked.", "en"}, {"", "en"},
	} {
		if got := textLang(tt.text); got != tt.want {
			t.Errorf("textLang(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}
