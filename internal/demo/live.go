package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/store"
)

// Live is the demo's terminals at work. Every terminal of the registry runs
// a real kiosk agent in this process, each over a network link the demo can
// cut. Now and then it stages what oversight reports describe: a terminal
// cut off from the network, one switched off (sometimes for long enough to
// raise an alert), a case opened; and people file complaints at random
// kiosks. With the cameras' simulator, the fleet page, the availability
// report and the inboxes come alive from it.
type Live struct {
	Server string // base URL of the running server
	DB     *store.DB
	Data   string // folder for the terminals' state (one folder each)
	Log    *slog.Logger
	Seed   int64
	// Stage is how often a new incident is staged, on average (2 minutes if
	// zero); incidents last a few times that. Complaint is how often
	// someone files a complaint (40 s if zero).
	Stage, Complaint time.Duration
	// Ready is called once every terminal runs, with the agent of the first
	// one, whose screens the demo serves.
	Ready func(first *kiosk.Agent)

	transport http.RoundTripper
	mu        sync.Mutex
	terms     []*liveTerminal
	rng       *rand.Rand
}

// liveTerminal is one simulated kiosk.
type liveTerminal struct {
	dev  qorgau.Device
	dir  string
	link *link
	busy atomic.Bool // an incident is staged on it
	// mu guards the running agent: a complaint is never sent while the
	// staging switches the terminal off or on.
	mu     sync.Mutex
	agent  *kiosk.Agent
	stop   context.CancelFunc // nil while switched off
	done   chan struct{}
	bodies []string // the regional prosecutor, for complaints
}

// link is a terminal's network cable: when cut, every request fails as a
// dead line would.
type link struct {
	cut atomic.Bool
	rt  http.RoundTripper
}

var errCut = errors.New("demo: the terminal's network is cut")

func (l *link) RoundTrip(r *http.Request) (*http.Response, error) {
	if l.cut.Load() {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errCut}
	}
	return l.rt.RoundTrip(r)
}

// Run starts the fleet and keeps it going until ctx ends.
func (lv *Live) Run(ctx context.Context) error {
	if lv.Stage <= 0 {
		lv.Stage = 2 * time.Minute
	}
	if lv.Complaint <= 0 {
		lv.Complaint = 40 * time.Second
	}
	lv.rng = rand.New(rand.NewPCG(uint64(lv.Seed), uint64(time.Now().UnixNano())))
	lv.transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	terms, _, err := lv.DB.Devices(ctx, qorgau.DeviceFilter{Kind: qorgau.DeviceTerminal, Limit: 100000})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	if err := lv.startTerminals(ctx, terms); err != nil {
		return err
	}
	lv.Log.Info("demo terminals running", "terminals", len(lv.terms),
		"took", time.Since(start).Round(time.Millisecond).String())
	if lv.Ready != nil && len(lv.terms) > 0 {
		lv.Ready(lv.terms[0].agent)
	}
	wg.Go(func() { lv.complaintsLoop(ctx) })
	wg.Go(func() { lv.stageLoop(ctx) })
	<-ctx.Done()
	for _, t := range lv.terms {
		lv.stopTerminal(t)
	}
	return nil
}

// startTerminals opens and runs an agent for every terminal, enrolling
// those that never did, a few at a time.
func (lv *Live) startTerminals(ctx context.Context, devs []qorgau.Device) error {
	lv.terms = make([]*liveTerminal, len(devs))
	sem := make(chan struct{}, 16)
	var first atomic.Value
	var wg sync.WaitGroup
	for i, d := range devs {
		t := &liveTerminal{dev: d, dir: filepath.Join(lv.Data, d.ID), link: &link{rt: lv.transport}}
		lv.terms[i] = t
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := lv.startTerminal(ctx, t); err != nil && ctx.Err() == nil {
				first.CompareAndSwap(nil, fmt.Errorf("terminal %s: %w", d.ID, err))
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return ctx.Err()
}

func (lv *Live) startTerminal(ctx context.Context, t *liveTerminal) error {
	var token string
	if !kiosk.Enrolled(t.dir) {
		var id string
		token, id = auth.NewToken()
		if err := lv.DB.CreateEnrollmentToken(ctx, id, t.dev.ID, time.Now().Add(time.Hour), &qorgau.AuditRecord{
			Actor: "demo", Action: qorgau.AuditEnrollmentIssued, Target: t.dev.ID, Detail: "simulated terminal"}); err != nil {
			return err
		}
	}
	a, err := kiosk.Open(ctx, kiosk.Config{Server: lv.Server, DataDir: t.dir, Token: token,
		TamperFile: filepath.Join(t.dir, "tamper"), HTTP: &http.Client{Transport: t.link, Timeout: time.Minute},
		Logger: slog.New(warnings{lv.Log.Handler()}).With("terminal", t.dev.ID), TamperPoll: 5 * time.Second, RetryMax: 30 * time.Second})
	if err != nil {
		return err
	}
	if t.bodies == nil {
		info, err := a.Info(ctx)
		if err != nil {
			return err
		}
		for _, b := range info.Bodies {
			if b.Kind == qorgau.BodyProsecutor && b.Region != "" {
				t.bodies = []string{b.Code}
				break
			}
		}
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	t.mu.Lock()
	t.agent, t.stop, t.done = a, stop, done
	t.mu.Unlock()
	go func() {
		defer close(done)
		if err := a.Run(rctx); err != nil {
			lv.Log.Warn("simulated terminal stopped", "terminal", t.dev.ID, "err", err)
		}
	}()
	return nil
}

func (lv *Live) stopTerminal(t *liveTerminal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		t.stop()
		<-t.done
		t.stop = nil
	}
}

// complaintsLoop files a complaint at a random kiosk now and then, as a
// person would at its screens.
func (lv *Live) complaintsLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(lv.jitter(lv.Complaint)):
		}
		lv.mu.Lock()
		t := lv.terms[lv.rng.IntN(len(lv.terms))]
		cat := qorgau.Categories[lv.rng.IntN(len(qorgau.Categories))]
		n := lv.rng.IntN(len(liveTexts))
		lang := []string{"ru", "kk"}[lv.rng.IntN(2)]
		lv.mu.Unlock()
		if t.busy.Load() || len(t.bodies) == 0 {
			continue
		}
		d := &kiosk.Draft{Lang: lang, Kind: "complaint", Bodies: t.bodies, Category: cat,
			When: "yesterday", PartOfDay: "evening", Text: liveTexts[n]}
		t.mu.Lock()
		if t.stop != nil {
			if _, err := t.agent.Send(ctx, d); err != nil && ctx.Err() == nil {
				lv.Log.Warn("simulated complaint", "terminal", t.dev.ID, "err", err)
			}
			t.agent.Step("sent")
		}
		t.mu.Unlock()
	}
}

// stageLoop stages an incident every so often.
func (lv *Live) stageLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(lv.jitter(lv.Stage)):
		}
		lv.mu.Lock()
		kind := lv.rng.IntN(7)
		// The first terminal's screens are the demo's kiosk: leave it be.
		t := lv.terms[lv.rng.IntN(len(lv.terms))]
		if t == lv.terms[0] {
			lv.mu.Unlock()
			continue
		}
		long := lv.rng.IntN(5) == 0
		lv.mu.Unlock()
		if !t.busy.CompareAndSwap(false, true) {
			continue
		}
		switch {
		case kind < 3: // the line is cut, the kiosk keeps running
			d := lv.span(1.5, 4, long) // 3 to 8 minutes at the default pace
			lv.Log.Info("demo: cutting a terminal's network", "terminal", t.dev.ID, "for", d.String())
			t.link.cut.Store(true)
			wg.Go(func() {
				defer t.busy.Store(false)
				sleep(ctx, d)
				t.link.cut.Store(false)
			})
		case kind < 5: // switched off, then on again: a new boot
			d := lv.span(2, 5, long)
			lv.Log.Info("demo: switching a terminal off", "terminal", t.dev.ID, "for", d.String())
			lv.stopTerminal(t)
			wg.Go(func() {
				defer t.busy.Store(false)
				if sleep(ctx, d) {
					if err := lv.startTerminal(ctx, t); err != nil {
						lv.Log.Warn("demo: switching a terminal on", "terminal", t.dev.ID, "err", err)
					}
				}
			})
		default: // the case is opened
			d := lv.span(1, 2.5, false)
			lv.Log.Info("demo: opening a terminal's case", "terminal", t.dev.ID, "for", d.String())
			os.WriteFile(filepath.Join(t.dir, "tamper"), []byte("open\n"), 0o600)
			wg.Go(func() {
				defer t.busy.Store(false)
				sleep(ctx, d)
				os.Remove(filepath.Join(t.dir, "tamper"))
			})
		}
	}
}

// span picks how long an incident lasts, between lo and hi times the
// staging pace; a long one lasts past the alert threshold (35 to 50
// minutes at the default pace).
func (lv *Live) span(lo, hi float64, long bool) time.Duration {
	if long {
		lo, hi = 17.5, 25
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return time.Duration((lo + (hi-lo)*lv.rng.Float64()) * float64(lv.Stage))
}

func (lv *Live) jitter(d time.Duration) time.Duration {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return d/2 + time.Duration(lv.rng.Int64N(int64(d)))
}

// sleep waits for d or the end of ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// liveTexts are what the simulated people write, in the kiosk's languages.
var liveTexts = []string{
	"Сотрудники избили меня в коридоре второго этажа, врач не осмотрел.",
	"Маған үш күн бойы дәрі бермеді, медициналық бөлімге апармады.",
	"Не дают свидание с родственниками уже два месяца без объяснения причин.",
	"В камере холодно, отопление не работает, окна разбиты.",
	"Письма адвокату не отправляют, ответы не приходят.",
	"Тамақ сапасы нашар, ауыз су жетпейді.",
}

// warnings passes on a handler's warnings and errors only: six hundred
// agents telling of each enrolment and heartbeat would bury the demo's own
// messages.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(as []slog.Attr) slog.Handler { return warnings{w.Handler.WithAttrs(as)} }
func (w warnings) WithGroup(g string) slog.Handler       { return warnings{w.Handler.WithGroup(g)} }
