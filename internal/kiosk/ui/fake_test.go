package ui

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// fakeBackend is the agent at the edge of the UI: it keeps in memory what
// the real one seals and sends, and answers checks from a table.
type fakeBackend struct {
	mu        sync.Mutex
	info      kiosk.Info
	sent      []kiosk.Draft
	codes     []string
	answers   map[string][]kiosk.Answer
	read      []int64
	reached   map[string]int
	abandoned map[string]int
	failSend  bool
	// testCodes are the monitor's test codes the server would accept.
	testCodes map[string]bool
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		info: kiosk.Info{
			Device: "KRG-001-T1", Facility: "KRG-001", Name: "Учреждение ЕЦ-166/1",
			Zones: []kiosk.InfoZone{
				{Code: "B1", Name: "Жилой блок 1", Kind: qorgau.ZoneCellBlock},
				{Code: "C1", Name: "Коридор 1-го этажа", Kind: qorgau.ZoneCorridor},
				{Code: "MED", Name: "Медчасть", Kind: qorgau.ZoneMedicalUnit},
				{Code: "YARD", Name: "Прогулочный двор", Kind: qorgau.ZoneExerciseYard},
			},
			Bodies: []kiosk.InfoBody{
				{Code: "KZ-NPM", Kind: qorgau.BodyNPM, Names: map[string]string{"kk": "Ұлттық алдын алу тетігі", "ru": "Национальный превентивный механизм", "en": "National Preventive Mechanism"}},
				{Code: "KZ-OMB", Kind: qorgau.BodyOmbudsman, Names: map[string]string{"kk": "Адам құқықтары жөніндегі уәкіл", "ru": "Уполномоченный по правам человека", "en": "Human Rights Commissioner"}},
				{Code: "KZ-35-PROS", Kind: qorgau.BodyProsecutor, Region: "KZ-35", Names: map[string]string{"kk": "Қарағанды облысының прокуратурасы", "ru": "Прокуратура Карагандинской области", "en": "Karaganda Region Prosecutor"}},
				{Code: "KZ-35-COURT", Kind: qorgau.BodyCourt, Region: "KZ-35", Names: map[string]string{"kk": "Қарағанды облыстық соты", "ru": "Карагандинский областной суд", "en": "Karaganda Regional Court"}},
			},
			Online:  true,
			Updated: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC),
			Extra:   &kiosk.InfoDefault{TortureBodies: []string{"KZ-35-PROS", "KZ-NPM"}},
		},
		answers:   map[string][]kiosk.Answer{},
		testCodes: map[string]bool{"T7K2": true},
		reached:   map[string]int{},
		abandoned: map[string]int{},
	}
}

func (f *fakeBackend) Info(ctx context.Context) (*kiosk.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info := f.info
	return &info, nil
}

func (f *fakeBackend) Send(ctx context.Context, d *kiosk.Draft) (*kiosk.Sent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSend {
		return nil, qorgau.Errorf(qorgau.EINTERNAL, "outbox full")
	}
	if d.TestCode != "" && !f.testCodes[d.TestCode] {
		return nil, kiosk.ErrTestCode
	}
	c := *d
	c.Bodies = slices.Clone(d.Bodies)
	if d.Voice != nil {
		c.Voice = &seal.Voice{Type: d.Voice.Type, Data: slices.Clone(d.Voice.Data)}
	}
	if d.Identity != nil {
		id := *d.Identity
		c.Identity = &id
	}
	f.sent = append(f.sent, c)
	code := seal.NewReceiptCode()
	f.codes = append(f.codes, code)
	return &kiosk.Sent{Code: seal.FormatCode(code), Queued: !f.info.Online, Printed: f.info.Printer}, nil
}

func (f *fakeBackend) CheckTestCode(ctx context.Context, code string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.testCodes[code] {
		return kiosk.ErrTestCode
	}
	return nil
}

func (f *fakeBackend) Check(ctx context.Context, code string) ([]kiosk.Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.answers[code]
	if !ok {
		return nil, qorgau.Errorf(qorgau.ENOTFOUND, "no complaint under this code")
	}
	return slices.Clone(a), nil
}

func (f *fakeBackend) Read(ctx context.Context, code string, complaint int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range f.answers[code] {
		if a.Complaint == complaint {
			f.answers[code][i].Read = true
			f.read = append(f.read, complaint)
			return nil
		}
	}
	return qorgau.Errorf(qorgau.ENOTFOUND, "no such complaint")
}

func (f *fakeBackend) Step(step string) {
	f.mu.Lock()
	f.reached[step]++
	f.mu.Unlock()
}

func (f *fakeBackend) Abandon(step string) {
	f.mu.Lock()
	f.abandoned[step]++
	f.mu.Unlock()
}

// lastSent returns the last draft sent, and how many there were.
func (f *fakeBackend) lastSent() (kiosk.Draft, string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		return kiosk.Draft{}, "", 0
	}
	return f.sent[len(f.sent)-1], f.codes[len(f.codes)-1], len(f.sent)
}

func (f *fakeBackend) counts() (reached, abandoned map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.reached), maps.Clone(f.abandoned)
}
