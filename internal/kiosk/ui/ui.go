// Package ui is the kiosk's user interface, served on loopback to a browser
// in kiosk mode, for a person in custody who may never have used a computer,
// may read poorly, and speaks Kazakh, Russian or English.
//
// The screens are rendered on the server from embedded templates; a small
// script (static/kiosk.js) adds the on-screen keyboard, the voice recorder,
// the spoken prompts and the inactivity wipe. What a person composes is held
// in this process's memory only, in a session keyed by a random id that
// lives in the page's address, and is wiped when it is sent, when the person
// starts over and after Options.Idle without a touch. Every response says
// Cache-Control: no-store, and the script swaps each screen into the page in
// place (a full load only back to the start screen, which leaves nothing in
// the page's memory), so that the browser keeps neither copies nor a history
// of the screens.
//
// The flow: language → menu → whom (bodies) → what (category) → where (zone)
// → when → the text or a voice recording → identity (anonymous by default)
// → review → send → receipt with the code. From the menu, "check an answer"
// takes the code on a keypad and shows the history and replies, and "learn
// how" is an illustrated walk-through with sound.
//
// The kiosk's browser is expected to run as
//
//	chromium --kiosk --incognito --no-first-run --noerrdialogs \
//	  --autoplay-policy=no-user-gesture-required \
//	  --overscroll-history-navigation=0 --disable-pinch \
//	  --disable-features=Translate --disk-cache-size=1 \
//	  http://127.0.0.1:7070/
//
// with the microphone allowed for that origin (the enterprise policy
// AudioCaptureAllowedUrls, or --use-fake-ui-for-media-stream, which grants
// it without asking). The spoken prompts are made from the catalogues by
// go generate (gen_audio.go: espeak-ng and opusenc from Debian).
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"qorgau.kz/qorgau/internal/kiosk"
)

//go:generate go run gen_audio.go

//go:embed templates/*.html static/* locales/*.json audio
var assets embed.FS

// Options configure the kiosk UI.
type Options struct {
	// Idle is how long without a touch before everything on screen and in
	// memory is wiped; 0 means 60 s.
	Idle time.Duration
	// Log receives errors from the backend; nil discards them.
	Log *slog.Logger
	// Speak reads the answers on the "check an answer" screen aloud; nil
	// shows no button to listen to them. Espeak is the usual one.
	Speak Speaker
	// AnyHost accepts requests for any Host header. Without it only
	// loopback names and addresses are served, which keeps a web page in
	// another origin from reaching the kiosk through DNS rebinding.
	AnyHost bool
}

// defaultIdle is the inactivity wipe when Options.Idle is zero.
const defaultIdle = 60 * time.Second

// Languages are the kiosk's languages, in the order the start screen shows them.
var Languages = []string{"kk", "ru", "en"}

// ui serves the screens over one backend.
type ui struct {
	b        kiosk.Backend
	o        Options
	log      *slog.Logger
	locales  map[string]*locale
	screens  map[string]*screenTemplate
	sessions *sessions
	css      template.CSS // static/kiosk.css, inlined in every page
	js       template.JS  // static/kiosk.js, inlined in every page
	csp      string       // allows exactly those two by their hashes
}

// New returns the kiosk UI over the agent's backend. It fails only if the
// embedded templates or catalogues are broken.
func New(b kiosk.Backend, o Options) (http.Handler, error) {
	if b == nil {
		return nil, fmt.Errorf("kiosk ui: no backend")
	}
	if o.Idle <= 0 {
		o.Idle = defaultIdle
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	locs, err := loadLocales()
	if err != nil {
		return nil, err
	}
	screens, err := parseScreens()
	if err != nil {
		return nil, err
	}
	u := &ui{b: b, o: o, log: o.Log, locales: locs, screens: screens}
	// The style and the script are inlined, so that a screen is one
	// request; the policy names their hashes and allows nothing else.
	css, err := fs.ReadFile(assets, "static/kiosk.css")
	if err != nil {
		return nil, fmt.Errorf("kiosk ui: %w", err)
	}
	js, err := fs.ReadFile(assets, "static/kiosk.js")
	if err != nil {
		return nil, fmt.Errorf("kiosk ui: %w", err)
	}
	u.css, u.js = template.CSS(css), template.JS(js)
	u.csp = fmt.Sprintf("default-src 'none'; script-src '%s'; style-src '%s'; img-src 'self' data:; media-src 'self' blob:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'", hashSource(js), hashSource(css))
	// The server's own wipe is a backstop for a browser that died: the
	// page wipes itself at Idle and pings while a person types.
	u.sessions = newSessions(o.Idle+o.Idle/4+min(5*time.Second, o.Idle), b.Abandon)
	audioFS, _ := fs.Sub(assets, "audio")
	mux := http.NewServeMux()
	mux.Handle("GET /audio/", http.StripPrefix("/audio/", http.FileServerFS(audioFS)))
	mux.HandleFunc("GET /{$}", u.start)
	mux.HandleFunc("POST /{$}", u.begin)
	mux.HandleFunc("GET /k/{sid}/{screen}", u.withSession(u.show))
	mux.HandleFunc("POST /k/{sid}/{screen}", u.withSession(u.post))
	mux.HandleFunc("POST /k/{sid}/voice", u.withSession(u.voice))
	mux.HandleFunc("GET /k/{sid}/hear", u.withSession(u.hear))
	return &guarded{ui: u, next: mux}, nil
}

// guarded is the UI's handler: it sets the headers every response carries
// and refuses requests that do not come from the kiosk's own page.
type guarded struct {
	ui   *ui
	next http.Handler
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, next := g.ui, g.next
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", u.csp)
	h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
	if !u.o.AnyHost && !loopbackHost(r.Host) {
		http.Error(w, "the kiosk answers on loopback only", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodPost {
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			if ou, err := url.Parse(o); err != nil || ou.Host != r.Host {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
		}
	}
	next.ServeHTTP(w, r)
}

// hashSource is a CSP source for an inline element's content.
func hashSource(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
