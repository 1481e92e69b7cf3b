package ui

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// maxScreenWeight bounds what one screen loads: the page (with its inline
// style, script and pictograms) and the spoken prompts it plays.
const maxScreenWeight = 200 << 10

// TestScreenWeight visits every screen, in every language, with a large
// directory and a long answer, and adds up what each one loads.
func TestScreenWeight(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			s := newSite(t, Options{})
			// A directory of every region's prosecutor and court.
			for i := range 40 {
				kind := qorgau.BodyProsecutor
				if i%2 == 1 {
					kind = qorgau.BodyCourt
				}
				code := fmt.Sprintf("KZ-%02d-%s", i, strings.ToUpper(string(kind)))
				s.b.info.Bodies = append(s.b.info.Bodies, kiosk.InfoBody{Code: code, Kind: kind,
					Names: map[string]string{lang: strings.Repeat("Облыстың прокуратурасы ", 3)}})
			}
			code := seal.NewReceiptCode()
			var a kiosk.Answer
			a.Complaint, a.Filed, a.Bodies, a.State = 1, time.Now(), []string{"KZ-NPM"}, qorgau.StateAnswered
			for _, st := range qorgau.ComplaintStates {
				a.History = append(a.History, kiosk.AnswerEvent{Time: time.Now(), State: st, Body: "KZ-NPM"})
			}
			a.Replies = []kiosk.AnswerReply{{Time: time.Now(), Body: "KZ-NPM", Text: strings.Repeat("Ответ органа. ", 400)}}
			s.b.answers[code] = []kiosk.Answer{a}

			weigh := func(name, path string) {
				t.Helper()
				body := s.page(path)
				total := len(body)
				for _, m := range regexp.MustCompile(`data-audio="([^"]*)"`).FindAllStringSubmatch(body, -1) {
					for _, src := range strings.Fields(m[1]) {
						r, b := s.get(src)
						if r.StatusCode != 200 {
							t.Errorf("%s: %s = %d", name, src, r.StatusCode)
						}
						total += len(b)
					}
				}
				for _, m := range regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(body, -1) {
					if strings.HasPrefix(m[1], "/k/") {
						continue // links to other screens
					}
					_, b := s.get(m[1])
					total += len(b)
				}
				t.Logf("%-14s %6.1f KB (page %5.1f KB)", name, float64(total)/1024, float64(len(body))/1024)
				if total > maxScreenWeight {
					t.Errorf("%s weighs %d bytes, want at most %d", name, total, maxScreenWeight)
				}
			}
			weigh("start", "/")
			base := s.begin(lang)
			weigh("menu", base+"menu")
			s.post(base+"menu", url.Values{"go": {"new"}})
			s.compose(base, strings.Repeat("Длинный рассказ о том, что случилось. ", 100), "")
			for _, sc := range []string{"bodies", "category", "place", "time", "text", "identity", "identity?form=1", "review"} {
				weigh(sc, base+sc)
			}
			s.post(base+"review", nil)
			weigh("sent", base+"sent")
			weigh("check", base+"check")
			s.post(base+"check", url.Values{"code": {code}})
			weigh("answer", base+"answer")
			for i := 1; i <= learnSlides; i++ {
				weigh(fmt.Sprintf("learn%d", i), fmt.Sprintf("%slearn?n=%d", base, i))
			}
			weigh("monitor", base+"monitor")
		})
	}
}
