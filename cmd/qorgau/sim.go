package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/mod/sumdb/note"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/tlog"
)

const simUsage = `Usage: qorgau sim --server URL [-data DIR | -db URL] [--terminals N] [--complaints M] [--concurrency C] [--json]

Simulates complaint terminals against a running server, through the real
terminal API: it enrols N terminals, prepares M real complaints (age-
encrypted to the bodies of each terminal's signed directory, signed by the
terminal's key), submits them from C concurrent connections, then checks
every receipt's inclusion proof and commitment, and prints throughput,
latency percentiles and errors.

Only the sending is timed. A real terminal seals and signs on its own
processor, not the server's, so sim seals every complaint and signs every
HTTP request before the timed phase. The server accepts a request only
within its clock-skew window of the request's signing (5 minutes by
default) and only once, so sim signs and sends in rounds: it signs up to
20,000 requests, or as many as it signs in 2 minutes, then sends them,
and so on. Throughput is the complaints accepted over the time spent
sending.

Enrolment tokens are issued directly in the server's database, so sim runs
where the server's -data folder (or -db) is reachable, as an administrator
would. It enrols the first N terminals of the registry, with new keys.

To keep preparation short, each simulated terminal derives one reply key
and uses it for all its complaints; a real kiosk derives one per complaint.
About one complaint in ten is a torture allegation, sent in parallel to the
region's prosecutor, the NPM and the ombudsman.`

// The bounds of a round: a round's requests are signed before it is timed
// and must reach the server within its clock-skew window (5 minutes by
// default) of their signing. Tests lower them.
var (
	simRoundSize = 20_000
	simRoundPrep = 2 * time.Minute
)

// simResult is what sim prints with --json.
type simResult struct {
	Terminals   int `json:"terminals"`
	Complaints  int `json:"complaints"`
	Concurrency int `json:"concurrency"`
	Rounds      int `json:"rounds"`
	Accepted    int `json:"accepted"`
	Errors      int `json:"errors"`
	// Seconds is the time spent sending, summed over the rounds.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"complaints_per_second"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// ClientCPUus is sim's own CPU time (user + system) in the timed
	// phases, per complaint: HTTP and reading answers.
	ClientCPUus float64 `json:"client_cpu_us_per_complaint"`
	Verified    int     `json:"receipts_verified"`
	FirstError  string  `json:"first_error,omitempty"`
}

// simConfig is what sim's flags say.
type simConfig struct {
	db          dbFlags
	server      string
	terminals   int
	complaints  int
	concurrency int
	cpuProfile  string
}

func runSim(ctx context.Context, args []string) error {
	fs := newFlagSet("sim", simUsage)
	var cfg simConfig
	cfg.db.register(fs, "./qorgau-data")
	fs.StringVar(&cfg.server, "server", "", "base URL of the server, e.g. http://127.0.0.1:8080")
	fs.IntVar(&cfg.terminals, "terminals", 16, "how many terminals to simulate")
	fs.IntVar(&cfg.complaints, "complaints", 2000, "how many complaints to submit")
	fs.IntVar(&cfg.concurrency, "concurrency", 64, "how many submissions in flight at once")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of sim's first timed round to this file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.server == "" {
		fs.Usage()
		return usageError("sim: --server is required")
	}
	if cfg.terminals < 1 || cfg.complaints < 1 || cfg.concurrency < 1 {
		return usageError("sim: --terminals, --complaints and --concurrency must be positive")
	}
	progress := io.Writer(os.Stderr)
	if *asJSON {
		progress = io.Discard
	}
	res, err := simulate(ctx, cfg, progress)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		rounds := ""
		if res.Rounds > 1 {
			rounds = fmt.Sprintf(" in %d rounds", res.Rounds)
		}
		fmt.Printf("%d complaints from %d terminals, %d connections: %.0f complaints/s over %.2f s%s\n",
			res.Complaints, res.Terminals, res.Concurrency, res.PerSecond, res.Seconds, rounds)
		fmt.Printf("latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n", res.P50ms, res.P95ms, res.P99ms, res.MaxMs)
		fmt.Printf("accepted %d, errors %d, receipts verified %d\n", res.Accepted, res.Errors, res.Verified)
		fmt.Printf("sim's own CPU: %.0f µs per complaint\n", res.ClientCPUus)
		if res.FirstError != "" {
			fmt.Printf("first error: %s\n", res.FirstError)
		}
	}
	if res.Errors > 0 {
		return errors.New("some submissions failed")
	}
	return nil
}

// simTerminal is an enrolled simulated terminal.
type simTerminal struct {
	c       *kiosk.Client
	dir     *seal.Directory
	reply   *seal.ReplyKey
	region  string
	fac     string
	regular []string // the bodies of an ordinary complaint
	urgent  []string // the bodies of a torture allegation
}

// simJob is one complaint: its sealed envelope and routing, the log object
// its receipt must commit to, and what sending it gave.
type simJob struct {
	t        *simTerminal
	envelope []byte
	routing  kiosk.Routing
	object   []byte
	answer   []byte // the server's answer, undecoded; nil if refused
	latency  time.Duration
}

// simulate runs sim as cfg says, writing progress to progress. Refused
// submissions are counted in the result, not returned as an error; a
// receipt that does not verify is an error.
func simulate(ctx context.Context, cfg simConfig, progress io.Writer) (*simResult, error) {
	say := func(format string, a ...any) { fmt.Fprintf(progress, format+"\n", a...) }
	base := strings.TrimSuffix(cfg.server, "/")
	tokens, regions, err := simTokens(ctx, cfg)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.concurrency + 8, MaxConnsPerHost: cfg.concurrency + 8,
		DisableCompression: true, // the answers are small JSON
	}}
	defer hc.CloseIdleConnections()
	fast := newSimSender(cfg.concurrency)
	defer fast.CloseIdleConnections()
	say("enrolling %d terminals and fetching their directories…", len(tokens))
	terms, logKey, err := enrolSimTerminals(ctx, hc, base, tokens, regions)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("the server's log key: %w", err)
	}
	say("preparing %d sealed complaints…", cfg.complaints)
	jobs, err := sealSimJobs(terms, cfg.complaints)
	if err != nil {
		return nil, err
	}

	// Rounds: sign a round's requests, then time only their sending.
	res := &simResult{Terminals: len(terms), Complaints: len(jobs), Concurrency: cfg.concurrency}
	var elapsed, cpu time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	for done := 0; done < len(jobs); res.Rounds++ {
		round := jobs[done : done+min(simRoundSize, len(jobs)-done)]
		reqs := make([]*kiosk.PreparedRequest, 0, len(round))
		t0 := time.Now()
		for i := 0; i < len(round) && (i == 0 || time.Since(t0) < simRoundPrep); i++ {
			j := &round[i]
			p, err := j.t.c.PrepareSubmit(j.envelope, j.routing)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, p)
		}
		round = round[:len(reqs)]
		if res.Rounds == 0 && cfg.cpuProfile != "" {
			f, err := os.Create(cfg.cpuProfile)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return nil, err
			}
		}
		say("round %d: submitting %d signed requests from %d connections…", res.Rounds+1, len(reqs), cfg.concurrency)
		cpu0 := cpuTime()
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(cfg.concurrency, len(reqs)) {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(reqs) {
						return
					}
					j := &round[i]
					t0 := time.Now()
					ans, err := fast.send(reqs[i])
					j.latency = time.Since(t0)
					if err != nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						continue
					}
					j.answer = ans
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		if res.Rounds == 0 && cfg.cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		done += len(reqs)
	}

	// The answers are decoded only now, outside the timed phase.
	say("checking %d receipts…", len(jobs))
	for i, j := range jobs {
		if j.answer == nil {
			continue
		}
		var b []byte
		sub, err := kiosk.ParseSubmitted(j.answer)
		if err == nil {
			b, err = base64.StdEncoding.DecodeString(sub.Receipt)
		}
		if err == nil {
			err = tlog.VerifyReceipt(b, j.object, verifier)
		}
		if err != nil {
			return nil, fmt.Errorf("complaint %d: the receipt does not verify: %w", i, err)
		}
		res.Verified++
	}
	lat := make([]time.Duration, len(jobs))
	for i, j := range jobs {
		lat[i] = j.latency
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	res.Errors = int(errs.Load())
	res.Accepted = len(jobs) - res.Errors
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(res.Accepted) / elapsed.Seconds()
	res.P50ms, res.P95ms, res.P99ms = pct(0.50), pct(0.95), pct(0.99)
	res.MaxMs = float64(lat[len(lat)-1].Microseconds()) / 1000
	res.ClientCPUus = float64(cpu.Microseconds()) / float64(len(jobs))
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	return res, nil
}

// simTokens issues an enrolment token, in the server's database, for each
// of the first cfg.terminals terminals of the registry, and looks up their
// regions.
func simTokens(ctx context.Context, cfg simConfig) (tokens, regions map[string]string, err error) {
	db, err := cfg.db.open(ctx, quietLogger())
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	devices, _, err := db.Devices(ctx, qorgau.DeviceFilter{Kind: qorgau.DeviceTerminal, Limit: cfg.terminals})
	if err != nil {
		return nil, nil, err
	}
	if len(devices) < cfg.terminals {
		return nil, nil, fmt.Errorf("the registry has %d terminals, fewer than --terminals %d", len(devices), cfg.terminals)
	}
	tokens, regions = map[string]string{}, map[string]string{}
	for _, dv := range devices {
		token, id := auth.NewToken()
		if err := db.CreateEnrollmentToken(ctx, id, dv.ID, time.Now().Add(time.Hour), &qorgau.AuditRecord{
			Actor: actor(), Action: qorgau.AuditEnrollmentIssued, Target: dv.ID, Detail: "qorgau sim"}); err != nil {
			return nil, nil, plain(err)
		}
		tokens[dv.ID] = token
		f, err := db.Facility(ctx, dv.Facility)
		if err != nil {
			return nil, nil, err
		}
		regions[dv.ID] = f.Region
	}
	return tokens, regions, nil
}

// enrolSimTerminals enrols a terminal for each token, with a new key, and
// fetches its directory. It returns them in device order, and the server's
// log key.
func enrolSimTerminals(ctx context.Context, hc *http.Client, base string, tokens, regions map[string]string) ([]*simTerminal, string, error) {
	var logKey string
	var terms []*simTerminal
	for _, id := range slices.Sorted(maps.Keys(tokens)) {
		_, priv, _ := ed25519.GenerateKey(nil)
		e, err := kiosk.Enroll(ctx, hc, base, tokens[id], priv)
		if err != nil {
			return nil, "", err
		}
		logKey = e.LogKey
		dk, _ := base64.StdEncoding.DecodeString(e.DirectoryKey)
		salt, _ := base64.StdEncoding.DecodeString(e.ReplySalt)
		c := &kiosk.Client{Server: base, HTTP: hc, DeviceID: id, Key: priv}
		dir, err := c.Directory(ctx, ed25519.PublicKey(dk), 0)
		if err != nil {
			return nil, "", err
		}
		st := &simTerminal{c: c, dir: dir, region: regions[id], fac: e.Facility}
		if st.reply, err = seal.DeriveReply(seal.NewReceiptCode(), salt); err != nil {
			return nil, "", err
		}
		pick := func(kind qorgau.BodyKind) string {
			var national string
			for _, b := range dir.Bodies {
				if b.Kind == kind && b.Region == st.region {
					return b.Code
				}
				if b.Kind == kind && b.Region == "" && national == "" {
					national = b.Code
				}
			}
			return national
		}
		if p := pick(qorgau.BodyProsecutor); p != "" {
			st.regular = []string{p}
		}
		for _, k := range qorgau.KazakhstanRules().UrgentBodies {
			if b := pick(k); b != "" && !slices.Contains(st.urgent, b) {
				st.urgent = append(st.urgent, b)
			}
		}
		sort.Strings(st.urgent)
		if len(st.regular) == 0 {
			return nil, "", fmt.Errorf("terminal %s: its directory has no prosecutor to write to", id)
		}
		terms = append(terms, st)
	}
	return terms, logKey, nil
}

// sealSimJobs seals n complaints, spread over the terminals in turn.
func sealSimJobs(terms []*simTerminal, n int) ([]simJob, error) {
	jobs := make([]simJob, n)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	run := fmt.Sprintf("sim-%d", time.Now().UnixNano())
	for i := range jobs {
		st := terms[i%len(terms)]
		cat, bodies := qorgau.Categories[1+rng.IntN(len(qorgau.Categories)-1)], st.regular
		if rng.IntN(10) == 0 && len(st.urgent) > 0 {
			cat, bodies = qorgau.CategoryTorture, st.urgent
		}
		if cat.IsUrgent() && len(st.urgent) > 0 {
			bodies = st.urgent
		}
		to, err := st.dir.Recipients(bodies...)
		if err != nil {
			return nil, err
		}
		doc := &seal.Document{V: seal.DocumentVersion, Kind: seal.KindComplaint, Category: string(cat), Lang: "ru",
			Text: simTexts[i%len(simTexts)], Facility: st.fac, Bodies: bodies, Written: time.Now().UTC().Truncate(time.Second)}
		env, err := seal.Seal(doc, to, st.c.Key, st.c.DeviceID, fmt.Sprintf("%s-%d", run, i), seal.Options{Reply: st.reply})
		if err != nil {
			return nil, err
		}
		r := kiosk.Routing{Bodies: bodies, Category: cat, LookupID: st.reply.LookupID}
		raw := env.Marshal()
		sub := complaints.Submission{Device: st.c.DeviceID, Facility: st.fac, Region: st.region, Bodies: slices.Sorted(slices.Values(bodies)),
			Category: cat, Urgent: cat.IsUrgent(), LookupID: r.LookupID, Envelope: raw}
		jobs[i] = simJob{t: st, envelope: raw, routing: r, object: sub.Marshal()}
	}
	return jobs, nil
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// simTexts are the complaint texts sim sends, in the languages of the kiosk.
var simTexts = []string{
	"Сотрудники избили меня в коридоре второго этажа, врач не осмотрел.",
	"Маған үш күн бойы дәрі бермеді, медициналық бөлімге апармады.",
	"Не дают свидание с родственниками уже два месяца без объяснения причин.",
	"В камере холодно, отопление не работает, окна разбиты.",
	"Письма адвокату не отправляют, ответы не приходят.",
}

// simSender sends the timed phase's signed requests with fasthttp's
// client: the same HTTP/1.1 requests as kiosk.Client.Send puts on the
// wire, for about half the CPU (net/http's client: 83–103 µs a complaint,
// fasthttp's: 44–51 µs). sim shares the machine with the server it
// measures, and a real terminal sends on its own CPU.
type simSender struct{ *fasthttp.Client }

func newSimSender(concurrency int) simSender {
	return simSender{&fasthttp.Client{
		MaxConnsPerHost:    concurrency + 8,
		MaxConnWaitTimeout: time.Minute,
		ReadTimeout:        time.Minute,
		WriteTimeout:       time.Minute,
	}}
}

// send sends p once (a POST is never retried: the server would refuse its
// nonce) and returns the answer, or the server's refusal as an error.
func (c simSender) send(p *kiosk.PreparedRequest) ([]byte, error) {
	method, url, header, body := p.Parts()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	for k, v := range header {
		for _, x := range v {
			req.Header.Add(k, x)
		}
	}
	req.SetBodyRaw(body)
	if err := c.Do(req, resp); err != nil {
		return nil, err
	}
	if st := resp.StatusCode(); st != http.StatusOK {
		ae := &kiosk.APIError{Status: st}
		if json.Unmarshal(resp.Body(), ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(resp.Body()))
		}
		return nil, ae
	}
	return slices.Clone(resp.Body()), nil
}
