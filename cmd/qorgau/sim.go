package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
terminal's key) before the timed phase, submits them from C concurrent
connections, then checks every receipt's inclusion proof and commitment,
and prints throughput, latency percentiles and errors.

Enrolment tokens are issued directly in the server's database, so sim runs
where the server's -data folder (or -db) is reachable, as an administrator
would. It enrols the first N terminals of the registry, with new keys.

To keep preparation short, each simulated terminal derives one reply key
and uses it for all its complaints; a real kiosk derives one per complaint.
About one complaint in ten is a torture allegation, sent in parallel to the
region's prosecutor, the NPM and the ombudsman.`

// simResult is what sim prints with --json.
type simResult struct {
	Terminals   int     `json:"terminals"`
	Complaints  int     `json:"complaints"`
	Concurrency int     `json:"concurrency"`
	Accepted    int     `json:"accepted"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"complaints_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P95ms       float64 `json:"p95_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// ClientCPUus is sim's own CPU time (user + system) in the timed
	// phase, per complaint: signing requests, HTTP, reading answers.
	ClientCPUus float64 `json:"client_cpu_us_per_complaint"`
	Verified    int     `json:"receipts_verified"`
	FirstError  string  `json:"first_error,omitempty"`
}

func runSim(ctx context.Context, args []string) error {
	fs := newFlagSet("sim", simUsage)
	var d dbFlags
	d.register(fs, "./qorgau-data")
	server := fs.String("server", "", "base URL of the server, e.g. http://127.0.0.1:8080")
	nTerm := fs.Int("terminals", 16, "how many terminals to simulate")
	nComp := fs.Int("complaints", 2000, "how many complaints to submit")
	conc := fs.Int("concurrency", 64, "how many submissions in flight at once")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of sim's timed phase to this file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *server == "" {
		fs.Usage()
		return usageError("sim: --server is required")
	}
	if *nTerm < 1 || *nComp < 1 || *conc < 1 {
		return usageError("sim: --terminals, --complaints and --concurrency must be positive")
	}
	base := strings.TrimSuffix(*server, "/")
	progress := os.Stderr
	if *asJSON {
		progress = nil
	}
	say := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", a...)
		}
	}

	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	devices, _, err := db.Devices(ctx, qorgau.DeviceFilter{Kind: qorgau.DeviceTerminal, Limit: *nTerm})
	if err != nil {
		db.Close()
		return err
	}
	if len(devices) < *nTerm {
		db.Close()
		return fmt.Errorf("the registry has %d terminals, fewer than --terminals %d", len(devices), *nTerm)
	}
	regions := map[string]string{}
	tokens := map[string]string{}
	for _, dv := range devices {
		token, id := auth.NewToken()
		if err := db.CreateEnrollmentToken(ctx, id, dv.ID, time.Now().Add(time.Hour), &qorgau.AuditRecord{
			Actor: actor(), Action: qorgau.AuditEnrollmentIssued, Target: dv.ID, Detail: "qorgau sim"}); err != nil {
			db.Close()
			return plain(err)
		}
		tokens[dv.ID] = token
		f, err := db.Facility(ctx, dv.Facility)
		if err != nil {
			db.Close()
			return err
		}
		regions[dv.ID] = f.Region
	}
	db.Close()

	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: *conc + 8, MaxConnsPerHost: *conc + 8,
		DisableCompression: true, // the answers are small JSON
	}}
	type simTerminal struct {
		c       *kiosk.Client
		dir     *seal.Directory
		reply   *seal.ReplyKey
		region  string
		fac     string
		regular []string // the bodies of an ordinary complaint
		urgent  []string // the bodies of a torture allegation
	}
	say("enrolling %d terminals and fetching their directories…", len(devices))
	var logKey string
	terms := make([]*simTerminal, len(devices))
	for i, dv := range devices {
		_, priv, _ := ed25519.GenerateKey(nil)
		e, err := kiosk.Enroll(ctx, hc, base, tokens[dv.ID], priv)
		if err != nil {
			return err
		}
		logKey = e.LogKey
		dk, _ := base64.StdEncoding.DecodeString(e.DirectoryKey)
		salt, _ := base64.StdEncoding.DecodeString(e.ReplySalt)
		c := &kiosk.Client{Server: base, HTTP: hc, DeviceID: dv.ID, Key: priv}
		dir, err := c.Directory(ctx, ed25519.PublicKey(dk), 0)
		if err != nil {
			return err
		}
		st := &simTerminal{c: c, dir: dir, region: regions[dv.ID], fac: e.Facility}
		if st.reply, err = seal.DeriveReply(seal.NewReceiptCode(), salt); err != nil {
			return err
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
			return fmt.Errorf("terminal %s: its directory has no prosecutor to write to", dv.ID)
		}
		terms[i] = st
	}
	verifier, err := note.NewVerifier(logKey)
	if err != nil {
		return fmt.Errorf("the server's log key: %w", err)
	}

	type job struct {
		t        *simTerminal
		envelope []byte
		routing  kiosk.Routing
		object   []byte
	}
	say("preparing %d sealed, signed complaints…", *nComp)
	jobs := make([]job, *nComp)
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
			return err
		}
		doc := &seal.Document{V: seal.DocumentVersion, Kind: seal.KindComplaint, Category: string(cat), Lang: "ru",
			Text: simTexts[i%len(simTexts)], Facility: st.fac, Bodies: bodies, Written: time.Now().UTC().Truncate(time.Second)}
		env, err := seal.Seal(doc, to, st.c.Key, st.c.DeviceID, fmt.Sprintf("%s-%d", run, i), seal.Options{Reply: st.reply})
		if err != nil {
			return err
		}
		r := kiosk.Routing{Bodies: bodies, Category: cat, LookupID: st.reply.LookupID}
		raw := env.Marshal()
		sub := complaints.Submission{Device: st.c.DeviceID, Facility: st.fac, Region: st.region, Bodies: slices.Sorted(slices.Values(bodies)),
			Category: cat, Urgent: cat.IsUrgent(), LookupID: r.LookupID, Envelope: raw}
		jobs[i] = job{t: st, envelope: raw, routing: r, object: sub.Marshal()}
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	say("submitting from %d connections…", *conc)
	cpu0 := cpuTime()
	lat := make([]time.Duration, len(jobs))
	answers := make([][]byte, len(jobs))
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				t0 := time.Now()
				ans, err := j.t.c.SubmitRaw(ctx, j.envelope, j.routing)
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				answers[i] = ans
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}

	// The answers are decoded only now, outside the timed phase.
	say("checking %d receipts…", len(answers))
	verified := 0
	for i, ans := range answers {
		if ans == nil {
			continue
		}
		var b []byte
		res, err := kiosk.ParseSubmitted(ans)
		if err == nil {
			b, err = base64.StdEncoding.DecodeString(res.Receipt)
		}
		if err == nil {
			err = tlog.VerifyReceipt(b, jobs[i].object, verifier)
		}
		if err != nil {
			return fmt.Errorf("complaint %d: the receipt does not verify: %w", i, err)
		}
		verified++
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	pct := func(p float64) float64 {
		return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
	}
	res := simResult{
		Terminals: len(terms), Complaints: len(jobs), Concurrency: *conc,
		Accepted: len(jobs) - int(errs.Load()), Errors: int(errs.Load()),
		Seconds: elapsed.Seconds(), PerSecond: float64(len(jobs)-int(errs.Load())) / elapsed.Seconds(),
		P50ms: pct(0.50), P95ms: pct(0.95), P99ms: pct(0.99), MaxMs: float64(sorted[len(sorted)-1].Microseconds()) / 1000,
		Verified: verified, ClientCPUus: float64(cpu.Microseconds()) / float64(len(jobs)),
	}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Printf("%d complaints from %d terminals, %d connections: %.0f complaints/s over %.2f s\n",
			res.Complaints, res.Terminals, res.Concurrency, res.PerSecond, res.Seconds)
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
