package web

import (
	"encoding/hex"
	"fmt"
	"net/http"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/fleet"
)

// maxJournalUpload bounds one journal upload; an agent that was cut off
// for longer sends its backlog in several.
const maxJournalUpload = 10_000

// tracker returns the fleet tracker, or an ENOTFOUND error when the fleet
// watch is not running in this process.
func (s *Server) tracker() (*fleet.Tracker, error) {
	if s.cfg.Fleet == nil {
		return nil, qorgau.Errorf(qorgau.ENOTFOUND, "the fleet watch is not running on this server")
	}
	return s.cfg.Fleet, nil
}

// errFleetStandby answers a device's report on a standby: with several
// servers on one database only the complaint log's sequencer watches the
// fleet (fleet.Tracker.Watching), and a report given to another would be
// lost to the watch. EUNAVAILABLE is 503 with Retry-After: the device
// tries again, and a load balancer that checks /readyz sends it to the
// sequencer.
var errFleetStandby = qorgau.Errorf(qorgau.EUNAVAILABLE, "this server is a standby: another one watches the fleet; try again shortly")

// watcher returns the fleet tracker for a device's report: an ENOTFOUND
// error when the fleet watch is not running in this process, errFleetStandby
// when another server runs it.
func (s *Server) watcher() (*fleet.Tracker, error) {
	tr, err := s.tracker()
	if err != nil {
		return nil, err
	}
	if !tr.Watching() {
		return nil, errFleetStandby
	}
	return tr, nil
}

// standby reports whether another server runs the fleet watch, for routes
// that feed it but work without one (usage, maintenance).
func (s *Server) standby() bool { return s.cfg.Fleet != nil && !s.cfg.Fleet.Watching() }

// terminalHeartbeat records a terminal's signed heartbeat and answers with
// the interval to keep, the server's clock and log size, and how much of
// the terminal's journal the server holds.
func (s *Server) terminalHeartbeat(w http.ResponseWriter, r *request) error {
	tr, err := s.watcher()
	if err != nil {
		return err
	}
	var hb qorgau.Heartbeat
	if err := readJSON(r, &hb); err != nil {
		return err
	}
	if err := checkHeartbeat(&hb); err != nil {
		return err
	}
	now := s.Now()
	res, err := tr.Heartbeat(r.Context(), r.Device.Device, &hb, now)
	if err != nil {
		return err
	}
	reply := qorgau.HeartbeatReply{Interval: res.Interval, ServerTime: now.Unix(), JournalSeq: res.JournalSeq}
	if s.cfg.Log != nil {
		reply.LogSize = s.cfg.Log.Size()
	}
	return writeJSON(w, http.StatusOK, reply)
}

// journalUpload is the body of POST /api/terminal/v1/journal.
type journalUpload struct {
	Entries []qorgau.JournalEntry `json:"entries"`
	// After, when set, is the entry the terminal's journal now starts
	// after, having dropped the entries up to it once this server had
	// acknowledged them. It counts only if the server holds less than it:
	// then the server lost acknowledged entries (see AppendJournalAfter).
	After *qorgau.JournalLink `json:"after,omitempty"`
}

// terminalJournal stores the entries of a terminal's journal that follow
// what the server holds. Entries that do not continue the stored chain are
// refused, change nothing, and are recorded as an alarm: a journal is
// append-only, so a break means it was altered or a key was misused.
func (s *Server) terminalJournal(w http.ResponseWriter, r *request) error {
	tr, err := s.watcher()
	if err != nil {
		return err
	}
	var up journalUpload
	if err := readJSON(r, &up); err != nil {
		return err
	}
	switch {
	case len(up.Entries) == 0:
		return qorgau.Errorf(qorgau.EINVALID, "entries is empty")
	case len(up.Entries) > maxJournalUpload:
		return qorgau.Errorf(qorgau.ETOOLARGE, "at most %d entries per upload", maxJournalUpload)
	}
	if a := up.After; a != nil {
		if _, err := hex.DecodeString(a.Hash); a.Seq < 1 || len(a.Hash) != 64 || err != nil {
			return qorgau.Errorf(qorgau.EINVALID, "after must name an entry: a seq of 1 or more and a 64-digit hex hash")
		}
	}
	ctx := r.Context()
	var seq, lost int64
	if up.After != nil {
		seq, lost, err = s.db.AppendJournalAfter(ctx, r.Device.Device, *up.After, up.Entries)
	} else {
		seq, err = s.db.AppendJournal(ctx, r.Device.Device, up.Entries)
	}
	if qorgau.ErrorCode(err) == qorgau.EINVALID {
		if aerr := tr.RecordAlarm(ctx, r.Device.Device, qorgau.AlarmJournalBroken, qorgau.ErrorMessage(err)); aerr != nil {
			s.log.Error("record journal alarm", "device", r.Device.Device, "err", aerr)
		}
		return err
	} else if err != nil {
		return err
	}
	if lost > 0 {
		// Stored; the alarm says what is missing and why it may be.
		detail := fmt.Sprintf("entries %d to %d are missing: the terminal says it dropped them after the server acknowledged them, and this server no longer holds them (restored from an older backup?)", lost, up.After.Seq)
		if aerr := tr.RecordAlarm(ctx, r.Device.Device, qorgau.AlarmJournalGap, detail); aerr != nil {
			s.log.Error("record journal alarm", "device", r.Device.Device, "err", aerr)
		}
	}
	if err := tr.JournalStored(ctx, r.Device.Device, seq); err != nil {
		// The journal is stored; a cause can be inferred again later.
		s.log.Error("re-evaluate outage causes", "device", r.Device.Device, "err", err)
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"journal_seq": seq})
}

// terminalUsage stores a terminal's anonymous usage counters for a day.
func (s *Server) terminalUsage(w http.ResponseWriter, r *request) error {
	if s.standby() {
		return errFleetStandby
	}
	var u qorgau.UsageReport
	if err := readJSON(r, &u); err != nil {
		return err
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if err := s.db.SaveUsage(r.Context(), r.Device.Device, &u); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"day": u.Day})
}
