package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Languages of the console, in the order the switch shows them. Kazakh is
// the state language; Russian is the language of most of the paperwork.
var languages = []string{"kk", "ru", "en"}

// defaultLanguage is used when neither a cookie nor the browser says more.
const defaultLanguage = "ru"

var matcher = language.NewMatcher([]language.Tag{language.Russian, language.Kazakh, language.English})

// Locale is one language's message catalogue. Templates call {{.L.T "key"}}.
type Locale struct {
	Code string
	msgs map[string]string
}

// loadLocales reads each language's catalogue: locales/{code}.json and
// any locales/{part}.{code}.json beside it, so that a part of the console
// keeps its own strings. A key defined twice is an error.
func loadLocales() (map[string]*Locale, error) {
	m := map[string]*Locale{}
	for _, code := range languages {
		files, err := fs.Glob(assets, "locales/*"+code+".json")
		if err != nil {
			return nil, err
		}
		l := &Locale{Code: code, msgs: map[string]string{}}
		for _, f := range files {
			if base := path.Base(f); base != code+".json" && !strings.HasSuffix(base, "."+code+".json") {
				continue
			}
			b, err := assets.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("locale %s: %w", code, err)
			}
			var part map[string]string
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for k, v := range part {
				if _, dup := l.msgs[k]; dup {
					return nil, fmt.Errorf("%s: key %q is defined twice", f, k)
				}
				l.msgs[k] = v
			}
		}
		if len(l.msgs) == 0 {
			return nil, fmt.Errorf("locale %s: no catalogue", code)
		}
		m[code] = l
	}
	return m, nil
}

// T returns the message for key. A missing key shows as itself in brackets,
// so that it is seen at once; a test makes sure none is missing.
func (l *Locale) T(key string) string {
	if s, ok := l.msgs[key]; ok {
		return s
	}
	return "[" + key + "]"
}

// Tf formats the message for key with args, as fmt.Sprintf does.
func (l *Locale) Tf(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

// Enum returns the message for a value of a closed set, e.g. ("zone", "corridor").
func (l *Locale) Enum(set string, value any) string { return l.T(set + "." + fmt.Sprint(value)) }

// HTML returns the message for key as trusted HTML: catalogues are part of
// the binary, not user input.
func (l *Locale) HTML(key string) template.HTML { return template.HTML(l.T(key)) }

// Languages lists the console's languages for the switch.
func (l *Locale) Languages() []string { return languages }

// Number formats n with thin grouping as the language writes it.
func (l *Locale) Number(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + l.Number(-n)
	}
	sep := "\u00a0"
	if l.Code == "en" {
		sep = ","
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Decimal writes a number that the server formatted for machines, such as
// "5906.01", as the language writes it: grouped as Number does, with a
// decimal comma in Kazakh and Russian. Anything that is not such a number
// is returned as it is.
func (l *Locale) Decimal(s string) string {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return "-" + l.Decimal(rest)
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.Atoi(whole)
	if err != nil || n < 0 || strings.TrimLeft(frac, "0123456789") != "" {
		return s
	}
	out := l.Number(n)
	if hasFrac {
		sep := ","
		if l.Code == "en" {
			sep = "."
		}
		out += sep + frac
	}
	return out
}

const langCookie = "qorgau_lang"

// localeFor picks the language of a request: the cookie set by the switch,
// then the browser's Accept-Language, then the default.
func (s *Server) localeFor(r *http.Request) *Locale {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := s.locale[c.Value]; ok {
			return l
		}
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, _ := language.ParseAcceptLanguage(al)
		if len(tags) > 0 {
			_, i, conf := matcher.Match(tags...)
			if conf != language.No {
				return s.locale[[]string{"ru", "kk", "en"}[i]]
			}
		}
	}
	return s.locale[defaultLanguage]
}

// EventDetail is what a complaint event adds to its state, in the
// reader's language: the facts the service stored as fields (the new or
// missed term, the new body, the outcome and the evidence, the terminal of
// a reading) from the catalogue, then the member's reason as typed.
func (l *Locale) EventDetail(ev store.ComplaintEvent) string {
	var parts []string
	switch {
	case ev.Term != "" && ev.Event == qorgau.EventOverdue:
		parts = append(parts, l.Tf("history.noanswer", ev.Term))
	case ev.Term != "":
		parts = append(parts, l.Tf("history.until", ev.Term))
	}
	if ev.To != "" {
		parts = append(parts, l.Tf("history.to", ev.To))
	}
	if ev.Outcome != "" {
		parts = append(parts, l.Tf("history.outcome", l.Enum("outcome", ev.Outcome)))
		if len(ev.Evidence) == 0 {
			parts = append(parts, l.T("history.noevidence"))
		} else {
			kinds := make([]string, len(ev.Evidence))
			for i, k := range ev.Evidence {
				kinds[i] = l.Enum("evidence", k)
			}
			parts = append(parts, l.Tf("history.evidence", strings.Join(kinds, ", ")))
		}
	}
	if ev.Device != "" {
		parts = append(parts, l.Tf("history.readat", ev.Device))
	}
	d := strings.Join(parts, "; ")
	switch {
	case ev.Reason == "":
		return d
	case d == "":
		return ev.Reason
	}
	return d + ": " + ev.Reason
}
