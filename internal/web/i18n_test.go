package web

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// TestCataloguesComplete checks that the three catalogues have exactly the
// same keys and no empty message.
func TestCataloguesComplete(t *testing.T) {
	locs, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range languages {
		for _, b := range languages {
			for k := range locs[a].msgs {
				if _, ok := locs[b].msgs[k]; !ok {
					t.Errorf("key %q is in %s.json but not in %s.json", k, a, b)
				}
			}
		}
		for k, v := range locs[a].msgs {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s.json: key %q is empty", a, k)
			}
		}
	}
	// The same format verbs in every language, so Tf never prints %!d.
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)
	for k, en := range locs["en"].msgs {
		want := verbs.FindAllString(en, -1)
		for _, l := range []string{"ru", "kk"} {
			if got := verbs.FindAllString(locs[l].msgs[k], -1); !slices.Equal(got, want) {
				t.Errorf("key %q: %s has verbs %v, en has %v", k, l, got, want)
			}
		}
	}
}

// TestTemplateKeysExist checks every key a template names literally, and
// every key built from a closed set of domain values.
func TestTemplateKeysExist(t *testing.T) {
	locs, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`\.(?:T|Tf|HTML) "([^"]+)"`)
	files, _ := fs.Glob(assets, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(assets, f)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in templates: the pattern is broken", len(used))
	}
	for _, r := range qorgau.Roles {
		used["role."+string(r)] = true
		used["home.role."+string(r)] = true
	}
	for _, v := range qorgau.FacilityTypes {
		used["ftype."+string(v)] = true
	}
	for _, v := range qorgau.ZoneKinds {
		used["zone."+string(v)] = true
	}
	for _, v := range qorgau.DeviceKinds {
		used["dkind."+string(v)] = true
	}
	for _, v := range qorgau.Categories {
		used["cat."+string(v)] = true
	}
	for _, v := range qorgau.AppealKinds {
		used["kind."+string(v)] = true
	}
	for _, v := range qorgau.Outcomes {
		used["outcome."+string(v)] = true
	}
	for _, v := range qorgau.EvidenceKinds {
		used["evidence."+string(v)] = true
	}
	for _, v := range []string{qorgau.EventOverdue, qorgau.EventDueSoon, qorgau.EventAppealed} {
		used["event."+v] = true
	}
	for _, v := range qorgau.ComplaintStates {
		used["state."+string(v)] = true
	}
	for _, v := range qorgau.AuditActions {
		used["action."+v] = true
	}
	for _, l := range languages {
		used["lang."+l] = true
	}
	for code, status := range statusOf {
		used["error."+code] = true
		used[fmt.Sprintf("error.explain.%d", status)] = true
	}
	// Keys the Go code passes to templates.
	for _, k := range []string{"home.title", "facility.title", "login.error.empty", "login.error.wrong",
		"login.error.throttled", "totp.error.wrong", "password.error.mismatch", "password.error.weak", "password.error.same"} {
		used[k] = true
	}
	for k := range used {
		for _, l := range languages {
			if _, ok := locs[l].msgs[k]; !ok {
				t.Errorf("key %q is used but missing from %s.json", k, l)
			}
		}
	}
}

// TestNoHardCodedText checks that templates hold no human text of their
// own: with actions, tags, comments and entities removed, only punctuation
// and spaces may remain.
func TestNoHardCodedText(t *testing.T) {
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tags := regexp.MustCompile(`(?s)<[^>]*>`)
	entities := regexp.MustCompile(`&[a-z]+;|&#[0-9]+;`)
	letters := regexp.MustCompile(`\pL{2,}`)
	files, _ := fs.Glob(assets, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(assets, f)
		s := actions.ReplaceAllString(string(b), " ")
		s = tags.ReplaceAllString(s, " ")
		s = entities.ReplaceAllString(s, " ")
		for _, w := range letters.FindAllString(s, -1) {
			t.Errorf("%s: hard-coded text %q; put it in the catalogues", f, w)
		}
	}
}

func TestLocaleNumber(t *testing.T) {
	locs, _ := loadLocales()
	for _, tt := range []struct {
		lang string
		n    int
		want string
	}{
		{"en", 45000, "45,000"}, {"ru", 45000, "45\u00a0000"}, {"kk", 1234567, "1\u00a0234\u00a0567"}, {"en", 999, "999"}, {"en", -1200, "-1,200"},
	} {
		if got := locs[tt.lang].Number(tt.n); got != tt.want {
			t.Errorf("%s.Number(%d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}

func TestLocaleDecimal(t *testing.T) {
	locs, _ := loadLocales()
	for _, tt := range []struct {
		lang, s, want string
	}{
		{"en", "5906.01", "5,906.01"}, {"ru", "5906.01", "5\u00a0906,01"}, {"kk", "99.28", "99,28"},
		{"kk", "95.0", "95,0"}, {"ru", "45608", "45\u00a0608"}, {"en", "-1200.5", "-1,200.5"},
		{"ru", "n/a", "n/a"}, {"ru", "1.2.3", "1.2.3"},
	} {
		if got := locs[tt.lang].Decimal(tt.s); got != tt.want {
			t.Errorf("%s.Decimal(%q) = %q, want %q", tt.lang, tt.s, got, tt.want)
		}
	}
}

func TestTabulateSuppressesSmallCounts(t *testing.T) {
	rows := []store.StatRow{
		{Facility: "F1", Category: qorgau.CategoryMedical, Body: "P", State: qorgau.StateAnswered, Count: 3},
		{Facility: "F1", Category: qorgau.CategoryMedical, Body: "P", State: qorgau.StateDelivered, Overdue: true, Count: 9},
		{Facility: "F2", Category: qorgau.CategoryTorture, Body: "N", State: qorgau.StateRegistered, Count: 1},
	}
	tb := tabulate(rows)
	if tb.Total != "13" {
		t.Errorf("total = %s, want 13", tb.Total)
	}
	want := map[string]statLine{
		"F1": {"F1", "12", "<5", "9"},
		"F2": {"F2", "<5", "0", "0"},
	}
	for _, l := range tb.ByFacility {
		if l != want[l.Key] {
			t.Errorf("facility line %+v, want %+v", l, want[l.Key])
		}
	}
	for n, s := range map[int]string{0: "0", 1: "<5", 4: "<5", 5: "5", 120: "120"} {
		if got := shown(n); got != s {
			t.Errorf("shown(%d) = %q, want %q", n, got, s)
		}
	}
}

func TestEventDetail(t *testing.T) {
	locs, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang string
		ev   store.ComplaintEvent
		want string
	}{
		{"ru", store.ComplaintEvent{State: qorgau.StateExtended, Term: "2026-12-31", Reason: "нужна экспертиза"}, "срок продлён до 2026-12-31: нужна экспертиза"},
		{"kk", store.ComplaintEvent{State: qorgau.StateRedirected, To: "PROS-KZ-71", Reason: "not ours"}, "қайта жолданды: PROS-KZ-71: not ours"},
		{"en", store.ComplaintEvent{State: qorgau.StateRedirected, To: "NPM", Reason: "x"}, "redirected to NPM: x"},
		{"ru", store.ComplaintEvent{State: qorgau.StateClosed, Outcome: qorgau.OutcomeUpheld,
			Evidence: []qorgau.Evidence{qorgau.EvidenceMedical, qorgau.EvidenceFootage}}, "итог: удовлетворена; рассмотренные доказательства: медицинское освидетельствование, видеозаписи"},
		{"en", store.ComplaintEvent{State: qorgau.StateClosed, Outcome: qorgau.OutcomeWithdrawn}, "outcome: withdrawn; no evidence named"},
		{"kk", store.ComplaintEvent{State: qorgau.StateAnswerDelivered, Device: "T-1"}, "T-1 терминалында оқылды"},
		{"ru", store.ComplaintEvent{State: qorgau.StateRegistered, Event: qorgau.EventOverdue, Term: "2026-12-31"}, "нет ответа к 2026-12-31"},
		{"en", store.ComplaintEvent{State: qorgau.StateRegistered}, ""},
		// A member's own words are shown as typed, even when they look
		// like the old English text.
		{"ru", store.ComplaintEvent{State: qorgau.StateExtended, Reason: "until tomorrow"}, "until tomorrow"},
	} {
		if got := locs[tt.lang].EventDetail(tt.ev); got != tt.want {
			t.Errorf("%s EventDetail(%+v) = %q, want %q", tt.lang, tt.ev, got, tt.want)
		}
	}
}
