package qorgau

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Heartbeat is what an enrolled terminal reports every Interval seconds,
// under a heartbeat session (POST /api/terminal/v1/heartbeat/beat; see
// BeatSessionOpen) or, from older agents, signed like every other terminal
// API request (POST /api/terminal/v1/heartbeat).
type Heartbeat struct {
	// Boot is a random id the agent picks at each start; a new boot id with
	// a small uptime tells a restart from a network gap.
	Boot   string `json:"boot"`
	Uptime int64  `json:"uptime_seconds"`
	// Sent is the terminal's clock when it sent the heartbeat.
	Sent time.Time `json:"sent"`
	// Outbox is the number of envelopes waiting to be delivered.
	Outbox int `json:"outbox"`
	// LogSize is the size of the largest log checkpoint the terminal has
	// seen. A server that now serves a smaller log raises an alarm.
	LogSize int64 `json:"log_size"`
	// Tamper is the state of the case switch: true when open.
	Tamper bool `json:"tamper"`
	// Network is the terminal's own view: NetworkUp, or NetworkRestored for
	// the first heartbeat after a loss.
	Network string `json:"network"`
}

// Network states a terminal reports.
const (
	NetworkUp       = "up"
	NetworkRestored = "restored"
)

// HeartbeatReply is the server's answer to a heartbeat.
type HeartbeatReply struct {
	Interval   int   `json:"interval_seconds"` // the interval the terminal should use
	ServerTime int64 `json:"server_time"`      // Unix seconds
	LogSize    int64 `json:"log_size"`         // the server's published log size
	// JournalSeq is the highest journal entry the server holds for this
	// terminal; the agent uploads what follows it.
	JournalSeq int64 `json:"journal_seq"`
}

// JournalKind is what a terminal's local journal records.
type JournalKind string

// Journal kinds.
const (
	JournalBoot        JournalKind = "boot"
	JournalShutdown    JournalKind = "shutdown"
	JournalHeartbeat   JournalKind = "heartbeat" // one sent, or failed to send
	JournalNetworkLost JournalKind = "network_lost"
	JournalNetworkBack JournalKind = "network_restored"
	JournalSubmitted   JournalKind = "submitted" // an envelope queued or delivered; never content
	JournalTamperOpen  JournalKind = "tamper_open"
	JournalTamperShut  JournalKind = "tamper_closed"
	// JournalFull: the journal outgrew its size cap with entries the
	// server does not hold yet; they are all kept, none is dropped.
	JournalFull JournalKind = "journal_full"
)

// JournalKinds lists the kinds a server accepts.
var JournalKinds = []JournalKind{JournalBoot, JournalShutdown, JournalHeartbeat, JournalNetworkLost,
	JournalNetworkBack, JournalSubmitted, JournalTamperOpen, JournalTamperShut, JournalFull}

// JournalEntry is one record of a terminal's hash-chained local journal,
// uploaded on reconnect (POST /api/terminal/v1/journal with
// {"entries": [...]}, answered with {"journal_seq": N}). Seq starts at 1;
// Prev is the Hash of entry Seq-1 (64 zeros for the first).
type JournalEntry struct {
	Seq    int64       `json:"seq"`
	Time   time.Time   `json:"time"`
	Boot   string      `json:"boot"`
	Kind   JournalKind `json:"kind"`
	Detail string      `json:"detail,omitempty"` // e.g. "outbox=3"; never complaint content
	Prev   string      `json:"prev"`
	Hash   string      `json:"hash"`
}

// JournalGenesis is the Prev of the first journal entry.
var JournalGenesis = strings.Repeat("0", 64)

// ComputeHash returns the hex SHA-256 that chains e to its predecessor.
func (e *JournalEntry) ComputeHash() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "qorgau-journal/v1\n%d\n%d\n%s\n%s\n%q\n%s\n",
		e.Seq, e.Time.UTC().UnixNano(), e.Boot, e.Kind, e.Detail, e.Prev))
	return hex.EncodeToString(sum[:])
}

// JournalLink names a journal entry by its sequence number and hash: a
// terminal's rotated journal starts from the last entry it dropped, which
// it names so.
type JournalLink struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// CheckJournal checks that entries continue a chain whose last entry had
// sequence number seq and hash prev, and that each is well formed. It
// returns an EINVALID error naming the first bad entry.
func CheckJournal(seq int64, prev string, entries []JournalEntry) error {
	for i := range entries {
		e := &entries[i]
		switch {
		case e.Seq != seq+1:
			return Errorf(EINVALID, "journal entry %d follows %d: entries must be consecutive", e.Seq, seq)
		case e.Prev != prev:
			return Errorf(EINVALID, "journal entry %d does not chain to entry %d", e.Seq, seq)
		case e.Hash != e.ComputeHash():
			return Errorf(EINVALID, "journal entry %d: hash does not match its content", e.Seq)
		case !validJournalKind(e.Kind):
			return Errorf(EINVALID, "journal entry %d: unknown kind %q", e.Seq, e.Kind)
		case len(e.Detail) > 256 || len(e.Boot) > 64:
			return Errorf(EINVALID, "journal entry %d is too long", e.Seq)
		}
		seq, prev = e.Seq, e.Hash
	}
	return nil
}

func validJournalKind(k JournalKind) bool {
	for _, j := range JournalKinds {
		if j == k {
			return true
		}
	}
	return false
}

// OutageCause is why a device was silent, as the fleet watch infers it.
type OutageCause string

// Outage causes.
const (
	CausePower       OutageCause = "power"       // the terminal rebooted: new boot id, no shutdown, no network loss
	CauseNetwork     OutageCause = "network"     // its journal shows it running but cut off
	CauseTamper      OutageCause = "tamper"      // the case was opened
	CauseMaintenance OutageCause = "maintenance" // declared in advance by the facility
	CauseUnknown     OutageCause = "unknown"     // still silent, or nothing tells
)

// OutageCauses lists the causes.
var OutageCauses = []OutageCause{CausePower, CauseNetwork, CauseTamper, CauseMaintenance, CauseUnknown}

// KioskSteps are the steps of the kiosk flow, in order, for the anonymous
// usage counters: how many people reach each step and where they give up.
var KioskSteps = []string{"start", "language", "menu", "bodies", "category", "place", "time", "text",
	"identity", "review", "sent", "check", "answer", "learn"}

// UsageReport is a terminal's anonymous usage counters for one day
// (POST /api/terminal/v1/usage). Reached counts the people who reached each
// step; Abandoned counts those whose session ended (start over, or the
// inactivity wipe) at that step. Nothing identifies a person. A terminal
// sends the whole day's counters each time; the server keeps the latest.
type UsageReport struct {
	Day       string         `json:"day"` // YYYY-MM-DD, the terminal's local date
	Reached   map[string]int `json:"reached"`
	Abandoned map[string]int `json:"abandoned"`
}

// Validate checks the day and that every step is one of KioskSteps.
func (u *UsageReport) Validate() error {
	if _, err := time.Parse(time.DateOnly, u.Day); err != nil {
		return Errorf(EINVALID, "day %q is not YYYY-MM-DD", u.Day)
	}
	for _, m := range []map[string]int{u.Reached, u.Abandoned} {
		for step, n := range m {
			if !validStep(step) {
				return Errorf(EINVALID, "unknown kiosk step %q", step)
			}
			if n < 0 || n > 1_000_000 {
				return Errorf(EINVALID, "count for step %q is out of range", step)
			}
		}
	}
	return nil
}

func validStep(s string) bool {
	for _, k := range KioskSteps {
		if k == s {
			return true
		}
	}
	return false
}

// DeviceBeat is one device's report in a batch from a camera source
// (POST /api/v1/devices/heartbeats, Authorization: Bearer <source token>,
// body {"heartbeats": [...]}); up to MaxBeatsPerBatch per request.
type DeviceBeat struct {
	Device string    `json:"device"`
	Time   time.Time `json:"time"`
	// OK is false when the source reached the device but it reports a
	// fault (no picture, recording stopped); Detail says which.
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// MaxBeatsPerBatch bounds one batch heartbeat request.
const MaxBeatsPerBatch = 50_000
