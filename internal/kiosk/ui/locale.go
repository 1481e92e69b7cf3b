package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"slices"
	"strings"
)

// locale is one language's catalogue: keys to text.
type locale struct {
	lang string
	msgs map[string]string
}

// T returns the text of key, or the key itself so that a missing string
// shows on screen (and the catalogue test fails) instead of a blank.
func (l *locale) T(key string) string {
	if s, ok := l.msgs[key]; ok {
		return s
	}
	return key
}

// loadLocales reads locales/{kk,ru,en}.json and checks that they have the
// same keys.
func loadLocales() (map[string]*locale, error) {
	out := map[string]*locale{}
	for _, lang := range Languages {
		b, err := fs.ReadFile(assets, "locales/"+lang+".json")
		if err != nil {
			return nil, fmt.Errorf("kiosk ui: %w", err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("kiosk ui: locales/%s.json: %w", lang, err)
		}
		out[lang] = &locale{lang: lang, msgs: m}
	}
	want := slices.Sorted(maps.Keys(out["en"].msgs))
	for _, lang := range Languages {
		if got := slices.Sorted(maps.Keys(out[lang].msgs)); !slices.Equal(got, want) {
			return nil, fmt.Errorf("kiosk ui: locales/%s.json has other keys than en.json", lang)
		}
	}
	return out, nil
}

// paragraphs renders text with blank lines as paragraphs, escaping it.
func paragraphs(s string) template.HTML {
	var b strings.Builder
	for _, p := range strings.Split(s, "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(template.HTMLEscapeString(strings.TrimSpace(p)), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return template.HTML(b.String())
}

// Lang is the catalogue's language code.
func (l *locale) Lang() string { return l.lang }
