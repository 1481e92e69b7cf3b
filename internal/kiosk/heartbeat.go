package kiosk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"qorgau.kz/qorgau"
)

// heartbeats sends a heartbeat every interval and uploads the journal the
// server lacks.
func (a *Agent) heartbeats(ctx context.Context) {
	for {
		a.heartbeat(ctx)
		a.mu.Lock()
		iv := a.interval
		a.mu.Unlock()
		t := time.NewTimer(iv)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (a *Agent) heartbeat(ctx context.Context) {
	now := a.now()
	a.mu.Lock()
	hb := &qorgau.Heartbeat{Boot: a.boot, Uptime: int64(now.Sub(a.started) / time.Second), Sent: now.UTC().Round(0),
		Outbox: a.outbox.Len(), LogSize: a.state.LogSize, Tamper: a.tamper, Network: qorgau.NetworkUp}
	if a.hbFailed > 0 {
		hb.Network = qorgau.NetworkRestored
	}
	iv := a.interval
	a.mu.Unlock()
	hctx, cancel := context.WithTimeout(ctx, min(max(iv, time.Second), 10*time.Second))
	reply, err := a.sendHeartbeat(hctx, hb, now)
	cancel()
	if ctx.Err() != nil {
		return
	}
	a.seen(err)
	if !reachable(err) {
		a.mu.Lock()
		a.hbFailed++
		n := a.hbFailed
		record := now.Sub(a.hbFailLog) >= 5*time.Minute
		if record {
			a.hbFailLog = now
		}
		a.mu.Unlock()
		if record {
			a.journal.Append(qorgau.JournalHeartbeat, fmt.Sprintf("failed=%d outbox=%d", n, hb.Outbox))
		}
		return
	}
	a.mu.Lock()
	failed := a.hbFailed
	a.hbFailed, a.hbFailLog = 0, time.Time{}
	logSent := failed > 0 || now.Sub(a.hbSentLog) >= time.Hour
	if logSent {
		a.hbSentLog = now
	}
	a.mu.Unlock()
	if logSent {
		a.journal.Append(qorgau.JournalHeartbeat, fmt.Sprintf("sent failed_before=%d outbox=%d", failed, hb.Outbox))
	}
	if err != nil {
		// The server answers but does not take heartbeats (an older
		// server, or a refusal): nothing to learn from it.
		a.log.Debug("heartbeat refused", "err", err)
		return
	}
	a.mu.Lock()
	if reply.Interval > 0 && a.cfg.Heartbeat == 0 {
		a.interval = time.Duration(reply.Interval) * time.Second
	}
	if reply.LogSize < a.state.LogSize {
		a.log.Error("the server serves a smaller log than this terminal has seen", "server", reply.LogSize, "seen", a.state.LogSize)
	}
	a.journalSrv = reply.JournalSeq
	a.mu.Unlock()
	a.uploadJournal(ctx, reply.JournalSeq)
}

// sendHeartbeat sends hb under the heartbeat session, opening one first if
// there is none; a server that no longer holds the session (a restart, an
// expiry) answers 401, and a new session is opened at once. A server
// without sessions gets signed heartbeats for an hour before the agent
// tries again.
func (a *Agent) sendHeartbeat(ctx context.Context, hb *qorgau.Heartbeat, now time.Time) (*qorgau.HeartbeatReply, error) {
	if now.Before(a.signedUntil) {
		return a.c.Heartbeat(ctx, hb)
	}
	for retry := true; ; retry = false {
		if a.beatSess == nil {
			s, err := a.c.OpenBeatSession(ctx, hb.Boot)
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				a.signedUntil = now.Add(time.Hour)
				return a.c.Heartbeat(ctx, hb)
			} else if err != nil {
				return nil, err
			}
			a.beatSess = s
		}
		reply, err := a.c.Beat(ctx, a.beatSess, hb)
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
			a.log.Debug("heartbeat session refused", "err", err)
			a.beatSess = nil
			if retry && ae.Status == http.StatusUnauthorized {
				continue
			}
		}
		return reply, err
	}
}

// uploadJournal sends the entries that follow the server's seq.
func (a *Agent) uploadJournal(ctx context.Context, seq int64) {
	a.ackJournal(seq)
	for seq < a.journal.Last().Seq {
		var after *qorgau.JournalLink
		entries, err := a.journal.After(seq, 500)
		if errors.Is(err, ErrJournalDropped) {
			// The server holds less than it once acknowledged: it was
			// restored from an older backup. Send what is kept, chained
			// to the last dropped entry; the server records the gap.
			anchor := a.journal.Anchor()
			a.log.Warn("the server holds less of the journal than it acknowledged", "server", seq, "kept_from", anchor.Seq+1)
			after = &anchor
			entries, err = a.journal.After(anchor.Seq, 500)
		}
		if err != nil || len(entries) == 0 {
			a.log.Error("journal", "err", err)
			return
		}
		got, err := a.c.Journal(ctx, entries, after)
		if err != nil {
			a.log.Warn("journal upload failed", "after", seq, "err", err)
			return
		}
		if got <= seq {
			a.log.Warn("the server did not take the journal", "after", seq, "server", got)
			return
		}
		seq = got
		a.ackJournal(seq)
		a.mu.Lock()
		a.journalSrv = seq
		a.mu.Unlock()
	}
}

// readTamper reads the case switch: "1" or "open" in the file means open;
// no file (or no path) means closed.
func readTamper(path string) bool {
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	s := strings.ToLower(strings.TrimSpace(string(b)))
	return s == "1" || s == "open"
}

func (a *Agent) watchTamper(ctx context.Context) {
	if a.cfg.TamperFile == "" {
		return
	}
	t := time.NewTicker(a.cfg.TamperPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		open := readTamper(a.cfg.TamperFile)
		a.mu.Lock()
		changed := open != a.tamper
		a.tamper = open
		a.mu.Unlock()
		if !changed {
			continue
		}
		kind := qorgau.JournalTamperShut
		if open {
			kind = qorgau.JournalTamperOpen
		}
		a.journal.Append(kind, "")
		a.log.Warn("tamper switch", "open", open)
	}
}

// refresher refetches the directory and facility, flushes the usage
// counters to disk every few seconds and sends them to the server.
func (a *Agent) refresher(ctx context.Context) {
	flush := time.NewTicker(3 * time.Second)
	defer flush.Stop()
	refresh := time.NewTicker(a.cfg.Refresh)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := a.usage.flush(); err != nil {
				a.log.Warn("usage counters", "err", err)
			}
		case <-refresh.C:
			if err := a.refresh(ctx); err != nil {
				a.log.Warn("refresh", "err", err)
			}
			a.sendUsage(ctx)
		}
	}
}

func (a *Agent) sendUsage(ctx context.Context) {
	for _, r := range a.usage.reports() {
		if err := a.c.Usage(ctx, &r); err != nil {
			a.log.Debug("usage report", "err", err)
			return
		}
		a.usage.sent(r)
	}
}
