package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkTouch measures the server's share of a touch: the form post of
// one screen and the rendering of the next, without the network.
func BenchmarkTouch(b *testing.B) {
	h, err := New(newFakeBackend(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	do := func(method, path, form string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://127.0.0.1:7070"+path, strings.NewReader(form))
		if method == http.MethodPost {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("X-Kiosk", "1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	base := do("POST", "/", "lang=kk").Header().Get("X-Kiosk-Go")
	base = strings.TrimSuffix(base, "menu")
	do("POST", base+"menu", "go=new")
	do("POST", base+"bodies", url.Values{"body": {"KZ-NPM"}}.Encode())
	for _, tt := range []struct{ name, post, form, next string }{
		{"category", "category", "category=medical", "place"},
		{"time", "time", "when=today&part=day", "text"},
		{"text", "text", "text=" + url.QueryEscape(strings.Repeat("Мені ұрды. ", 50)), "identity"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if w := do("POST", base+tt.post, tt.form); w.Code != http.StatusNoContent {
					b.Fatalf("POST %s = %d", tt.post, w.Code)
				}
				if w := do("GET", base+tt.next, ""); w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", tt.next, w.Code)
				}
			}
		})
	}
}
