package kiosk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/tlog"
)

// Config configures an Agent.
type Config struct {
	Server  string // base URL of the server
	DataDir string // the terminal's state: key, enrolment, outbox, journal
	// Token is the one-time enrolment token; needed only when DataDir holds
	// no enrolment yet.
	Token string
	// TamperFile is read for the case switch: "1" or "open" means open; a
	// missing file means closed. Empty: no switch.
	TamperFile string
	// Printer is the ESC/POS receipt printer device; empty for none.
	Printer string
	// JournalCap is the size in bytes at which the journal drops the
	// entries the server holds (DefaultJournalCap if zero).
	JournalCap int64
	HTTP       *http.Client
	Logger     *slog.Logger
	// Heartbeat overrides the interval the server gives; 0 uses the
	// server's.
	Heartbeat time.Duration
	// RetryMin and RetryMax bound the outbox's back-off (0.5 s and 60 s if
	// zero).
	RetryMin, RetryMax time.Duration
	// Refresh is how often the directory, the facility and the usage
	// counters are exchanged with the server (10 minutes if zero).
	Refresh time.Duration
	// TamperPoll is how often the tamper file is read (1 s if zero).
	TamperPoll time.Duration
	// Now is the kiosk's clock; nil means time.Now.
	Now func() time.Time
}

// ErrOffline means the server could not be reached; what was asked is not
// lost if it was a Send.
var ErrOffline = errors.New("the server cannot be reached")

// agentState is what the agent keeps between runs, besides its key and
// enrolment: the highest directory version and log size it has seen, so
// that a server cannot roll either back unnoticed.
type agentState struct {
	DirectoryVersion uint64 `json:"directory_version"`
	LogSize          int64  `json:"log_size"`
}

// Agent is the terminal agent behind the kiosk screens: it enrols once,
// keeps the signed directory, seals complaints and delivers them through
// its outbox, sends heartbeats, keeps the hash-chained journal and the
// anonymous usage counters. It implements Backend.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	c       *Client
	enrol   *Enrollment
	dirKey  ed25519.PublicKey
	salt    []byte
	logV    note.Verifier
	boot    string
	started time.Time

	outbox  *Outbox
	journal *Journal
	usage   *usage

	kick    chan struct{} // a new item waits
	netBack chan struct{} // the server answers again: retry now

	deriveMu sync.Mutex // one Argon2id derivation at a time: each takes 64 MiB

	mu       sync.Mutex
	state    agentState
	dir      *seal.Directory
	dirAt    time.Time
	fac      *FacilityInfo
	net      int // netUnknown, netUp or netDown
	hbFailed int // heartbeats failed since the last that got through
	// beatSess is the heartbeat session; only the heartbeat goroutine
	// uses it and signedUntil. Until signedUntil the server is taken to
	// have no sessions, and heartbeats are signed.
	beatSess    *BeatSession
	signedUntil time.Time
	hbFailLog   time.Time
	hbSentLog   time.Time
	interval    time.Duration
	journalSrv  int64 // highest journal entry the server holds, -1 unknown
	tamper      bool
	delivered   int // envelopes delivered in this run
}

const (
	netUnknown = iota
	netUp
	netDown
)

// Files in the data folder.
const (
	fileKey       = "device.key"     // Ed25519 seed, base64
	fileEnrolment = "enrolment.json" // the server's enrolment answer
	fileState     = "state.json"     // agentState
	fileDirectory = "directory.note" // the last signed directory
	fileFacility  = "facility.json"  // the facility and zones
	fileJournal   = "journal.jsonl"  // the hash-chained journal
	fileUsage     = "usage.json"     // the usage counters
	dirOutbox     = "outbox"         // the envelopes waiting
)

// Open loads the terminal's state from cfg.DataDir, enrolling with
// cfg.Token first if there is none, and fetches the directory and the
// facility (or uses the copies of the last run when the server cannot be
// reached).
func Open(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.HTTP == nil {
		// Long enough for a 16 MiB envelope with a voice recording over a
		// slow line; heartbeats set their own, shorter deadline.
		cfg.HTTP = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
			ExpectContinueTimeout: time.Second,
		}}
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 60 * time.Second
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Minute
	}
	if cfg.TamperPoll <= 0 {
		cfg.TamperPoll = time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := removeTemps(cfg.DataDir); err != nil {
		return nil, err
	}
	bootB := make([]byte, 16)
	rand.Read(bootB)
	a := &Agent{cfg: cfg, log: cfg.Logger, now: cfg.Now, boot: hex.EncodeToString(bootB), started: cfg.Now(),
		kick: make(chan struct{}, 1), netBack: make(chan struct{}, 1), journalSrv: -1}

	key, err := a.loadOrEnrol(ctx)
	if err != nil {
		return nil, err
	}
	a.c = &Client{Server: cfg.Server, HTTP: cfg.HTTP, DeviceID: a.enrol.Device, Key: key, Now: cfg.Now}
	if a.dirKey, err = base64.StdEncoding.DecodeString(a.enrol.DirectoryKey); err != nil || len(a.dirKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("enrolment: bad directory key")
	}
	if a.salt, err = base64.StdEncoding.DecodeString(a.enrol.ReplySalt); err != nil || len(a.salt) < seal.MinSaltSize {
		return nil, fmt.Errorf("enrolment: bad reply salt")
	}
	if a.logV, err = note.NewVerifier(a.enrol.LogKey); err != nil {
		return nil, fmt.Errorf("enrolment: bad log key: %w", err)
	}
	a.interval = time.Duration(max(a.enrol.Interval, 1)) * time.Second
	if cfg.Heartbeat > 0 {
		a.interval = cfg.Heartbeat
	}
	if b, err := os.ReadFile(a.path(fileState)); err == nil {
		if err := json.Unmarshal(b, &a.state); err != nil {
			return nil, fmt.Errorf("%s: %w", fileState, err)
		}
	}
	if b, err := os.ReadFile(a.path(fileDirectory)); err == nil {
		// The cached copy is checked like a fresh one: the disk is not
		// trusted more than the network.
		if d, err := seal.VerifyDirectory(b, a.dirKey, a.state.DirectoryVersion); err == nil {
			a.dir = d
			if st, err := os.Stat(a.path(fileDirectory)); err == nil {
				a.dirAt = st.ModTime()
			}
		} else {
			a.log.Warn("cached directory refused", "err", err)
		}
	}
	if b, err := os.ReadFile(a.path(fileFacility)); err == nil {
		var f FacilityInfo
		if json.Unmarshal(b, &f) == nil {
			a.fac = &f
		}
	}
	if err := a.refresh(ctx); err != nil {
		a.log.Warn("could not refresh the directory and facility", "err", err)
	}
	if a.dir == nil || a.fac == nil {
		return nil, fmt.Errorf("no directory of bodies yet, and the server cannot be reached: %w", ErrOffline)
	}
	if a.outbox, err = OpenOutbox(a.path(dirOutbox)); err != nil {
		return nil, err
	}
	if a.journal, err = OpenJournal(a.path(fileJournal), a.boot, cfg.Now); err != nil {
		return nil, err
	}
	a.journal.Cap = cfg.JournalCap
	if a.usage, err = openUsage(a.path(fileUsage), cfg.Now); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) path(name string) string { return filepath.Join(a.cfg.DataDir, name) }

// loadOrEnrol returns the device key, enrolling first if the data folder
// holds no enrolment.
func (a *Agent) loadOrEnrol(ctx context.Context) (ed25519.PrivateKey, error) {
	eb, eerr := os.ReadFile(a.path(fileEnrolment))
	kb, kerr := os.ReadFile(a.path(fileKey))
	if eerr == nil && kerr == nil {
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(kb)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s is not a device key", a.path(fileKey))
		}
		var e Enrollment
		if err := json.Unmarshal(eb, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", fileEnrolment, err)
		}
		a.enrol = &e
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if !os.IsNotExist(eerr) && eerr != nil {
		return nil, eerr
	}
	if a.cfg.Token == "" {
		return nil, qorgau.Errorf(qorgau.EINVALID, "this terminal is not enrolled yet: give the enrolment token (--enroll)")
	}
	// A new key every enrolment attempt: it is written before the token is
	// spent, so that a crash after the server accepted it leaves the key.
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(a.cfg.DataDir, fileKey, []byte(base64.StdEncoding.EncodeToString(key.Seed())+"\n"), 0o600); err != nil {
		return nil, err
	}
	e, err := Enroll(ctx, a.cfg.HTTP, a.cfg.Server, a.cfg.Token, key)
	if err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(e, "", "  ")
	if err := writeAtomic(a.cfg.DataDir, fileEnrolment, b, 0o600); err != nil {
		return nil, err
	}
	a.enrol = e
	a.log.Info("enrolled", "device", e.Device, "facility", e.Facility)
	return key, nil
}

// refresh fetches the signed directory and the facility, and keeps copies
// for a start without network.
func (a *Agent) refresh(ctx context.Context) error {
	a.mu.Lock()
	have := a.state.DirectoryVersion
	a.mu.Unlock()
	var raw []byte
	if err := a.c.do(ctx, http.MethodGet, "/api/terminal/v1/directory", "", nil, &raw); err != nil {
		a.seen(err)
		return fmt.Errorf("directory: %w", err)
	}
	d, err := seal.VerifyDirectory(raw, a.dirKey, have)
	if err != nil {
		return err
	}
	if err := writeAtomic(a.cfg.DataDir, fileDirectory, raw, 0o600); err != nil {
		return err
	}
	f, err := a.c.Facility(ctx)
	if err != nil {
		a.seen(err)
		return fmt.Errorf("facility: %w", err)
	}
	fb, _ := json.Marshal(f)
	if err := writeAtomic(a.cfg.DataDir, fileFacility, fb, 0o600); err != nil {
		return err
	}
	a.mu.Lock()
	a.dir, a.dirAt, a.fac = d, a.now(), f
	a.state.DirectoryVersion = max(a.state.DirectoryVersion, d.Version)
	a.mu.Unlock()
	if err := a.observeLog(ctx); err != nil {
		a.log.Warn("log checkpoint", "err", err)
	}
	return a.saveState()
}

// observeLog reads the log's published checkpoint, checks its signature
// with the pinned log key, and remembers its size if it is the largest
// seen, so that the heartbeats can tell the server what this terminal saw
// even when it files nothing.
func (a *Agent) observeLog(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.cfg.Server, "/")+"/log/checkpoint", nil)
	if err != nil {
		return err
	}
	var b []byte
	if err := roundTrip(a.cfg.HTTP, req, &b); err != nil {
		return err
	}
	cp, err := tlog.OpenCheckpoint(b, a.logV)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cp.Size < a.state.LogSize {
		a.log.Error("the server publishes a smaller log than this terminal has seen", "published", cp.Size, "seen", a.state.LogSize)
	}
	a.state.LogSize = max(a.state.LogSize, cp.Size)
	return nil
}

func (a *Agent) saveState() error {
	a.mu.Lock()
	b, _ := json.Marshal(a.state)
	a.mu.Unlock()
	return writeAtomic(a.cfg.DataDir, fileState, b, 0o600)
}

// Run runs the agent's loops until ctx ends: the outbox sender,
// heartbeats with the journal upload, the tamper switch, the refresh of
// the directory and the usage counters. It journals the boot and, when ctx
// ends, the shutdown.
func (a *Agent) Run(ctx context.Context) error {
	if _, err := a.journal.Append(qorgau.JournalBoot, fmt.Sprintf("outbox=%d", a.outbox.Len())); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	a.mu.Lock()
	a.tamper = readTamper(a.cfg.TamperFile)
	open := a.tamper
	a.mu.Unlock()
	if open {
		a.journal.Append(qorgau.JournalTamperOpen, "at boot")
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.sender(ctx) })
	wg.Go(func() { a.heartbeats(ctx) })
	wg.Go(func() { a.watchTamper(ctx) })
	wg.Go(func() { a.refresher(ctx) })
	wg.Wait()
	if err := a.usage.flush(); err != nil {
		a.log.Warn("usage counters", "err", err)
	}
	_, err := a.journal.Append(qorgau.JournalShutdown, fmt.Sprintf("outbox=%d", a.outbox.Len()))
	a.journal.Close()
	return err
}

// reachable reports whether err still shows a server that answers: an API
// error other than a gateway's.
func reachable(err error) bool {
	var ae *APIError
	if err == nil {
		return true
	}
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status != http.StatusBadGateway && ae.Status != http.StatusServiceUnavailable && ae.Status != http.StatusGatewayTimeout
}

// seen records what a request to the server showed of the network, and
// journals a loss or a return.
func (a *Agent) seen(err error) {
	if a.journal == nil {
		return // still opening
	}
	up := reachable(err)
	a.mu.Lock()
	was := a.net
	if up {
		a.net = netUp
	} else {
		a.net = netDown
	}
	a.mu.Unlock()
	switch {
	case up && was == netDown:
		a.journal.Append(qorgau.JournalNetworkBack, fmt.Sprintf("outbox=%d", a.outbox.Len()))
		a.log.Info("network restored")
		select {
		case a.netBack <- struct{}{}:
		default:
		}
	case !up && was != netDown:
		a.journal.Append(qorgau.JournalNetworkLost, fmt.Sprintf("outbox=%d", a.outbox.Len()))
		a.log.Warn("network lost", "err", err)
	}
}

// Online reports whether the last request to the server got an answer.
func (a *Agent) Online() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.net == netUp
}

// Status is the agent's state, for the local status endpoint and tests.
type Status struct {
	Device     string `json:"device"`
	Boot       string `json:"boot"`
	Online     bool   `json:"online"`
	Outbox     int    `json:"outbox"`
	Delivered  int    `json:"delivered"`
	LogSize    int64  `json:"log_size"`
	Journal    int64  `json:"journal_seq"`
	JournalSrv int64  `json:"journal_server_seq"` // -1: unknown
	Tamper     bool   `json:"tamper"`
	Interval   string `json:"interval"`
}

// Status returns the agent's state.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Status{Device: a.enrol.Device, Boot: a.boot, Online: a.net == netUp, Outbox: a.outbox.Len(), Delivered: a.delivered,
		LogSize: a.state.LogSize, Journal: a.journal.Last().Seq, JournalSrv: a.journalSrv, Tamper: a.tamper, Interval: a.interval.String()}
}

// Enrolled reports whether dir holds a terminal's enrolment, so that a
// caller knows whether Config.Token is needed.
func Enrolled(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, fileEnrolment))
	return err == nil
}
