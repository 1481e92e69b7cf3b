package kiosk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/tlog"
)

// sender delivers the outbox, oldest first, with exponential back-off and
// jitter after a failure; it retries at once when the network returns.
func (a *Agent) sender(ctx context.Context) {
	failures := 0
	for {
		names, err := a.outbox.List()
		if err != nil {
			a.log.Error("outbox", "err", err)
		}
		progress := true
		for _, name := range names {
			if ctx.Err() != nil {
				return
			}
			if err := a.deliver(ctx, name); err != nil {
				if ctx.Err() != nil {
					return
				}
				a.log.Warn("delivery failed; will retry", "item", name, "err", err)
				progress = false
				break
			}
			failures = 0
		}
		if progress && err == nil {
			select {
			case <-ctx.Done():
				return
			case <-a.kick:
			case <-a.netBack:
			}
			continue
		}
		failures++
		wait := backoff(a.cfg.RetryMin, a.cfg.RetryMax, failures)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-a.netBack:
			t.Stop()
		}
	}
}

// backoff returns the wait after n failures in a row: exponential from lo,
// capped at hi, with full jitter over its upper half so that a fleet
// coming back together does not retry in step.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 32 && lo<<(n-1) < hi && lo<<(n-1) > 0 {
		d = lo << (n - 1)
	}
	return d/2 + time.Duration(mrand.Int64N(int64(d/2)+1))
}

// deliver submits one outbox item and removes it once the server answered
// with a receipt that proves its inclusion in the log.
func (a *Agent) deliver(ctx context.Context, name string) error {
	it, err := a.outbox.Load(name)
	var syntax *json.SyntaxError
	switch {
	case os.IsNotExist(err):
		return nil
	case errors.As(err, &syntax):
		// Written atomically, so only a damaged disk does this: set it
		// aside rather than block the envelopes behind it.
		a.log.Error("an outbox item is damaged; moved to outbox/rejected", "item", name, "err", err)
		return a.outbox.Reject(name)
	case err != nil:
		return err
	}
	res, err := a.c.Submit(ctx, it.Envelope, it.Routing())
	a.seen(err)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (permanent(ae) || it.Test && ae.Status == http.StatusForbidden) {
			// A test complaint whose code expired or was used while it
			// waited is refused for good too: set aside, it no longer
			// holds up the complaints behind it.
			a.log.Error("the server refused an envelope for good; kept in outbox/rejected", "item", name, "err", err)
			if rerr := a.outbox.Reject(name); rerr != nil {
				return rerr
			}
			a.journal.Append(qorgau.JournalSubmitted, fmt.Sprintf("rejected outbox=%d", a.outbox.Len()))
			return nil
		}
		return err
	}
	size, err := a.verifyReceipt(it, res.Receipt)
	if err != nil {
		// Keep it: a resend returns the same complaint with a new
		// receipt. A server that never proves inclusion leaves the
		// envelope here, and the outbox depth in the heartbeats shows it.
		return fmt.Errorf("the receipt of complaint %d does not verify: %w", res.Complaint, err)
	}
	a.mu.Lock()
	grew := size > a.state.LogSize
	if grew {
		a.state.LogSize = size
	}
	a.delivered++
	a.mu.Unlock()
	if grew {
		if err := a.saveState(); err != nil {
			return err
		}
	}
	if err := a.outbox.Done(name); err != nil {
		return err
	}
	a.journal.Append(qorgau.JournalSubmitted, fmt.Sprintf("delivered outbox=%d", a.outbox.Len()))
	return nil
}

// permanent reports whether the server refused a request for what it is,
// so that sending it again cannot succeed: a malformed or oversized
// envelope, or an idempotency id reused with other content.
func permanent(ae *APIError) bool {
	switch ae.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusConflict:
		return true
	}
	return false
}

// verifyReceipt checks the receipt against the log key pinned at
// enrolment and the submission the server logged, rebuilt here, and
// returns the size of the receipt's checkpoint.
func (a *Agent) verifyReceipt(it *Item, receipt string) (int64, error) {
	rb, err := base64.StdEncoding.DecodeString(receipt)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	region := a.fac.Region
	a.mu.Unlock()
	sub := complaints.Submission{Device: a.enrol.Device, Facility: a.enrol.Facility, Region: region,
		Bodies: slices.Sorted(slices.Values(it.Bodies)), Category: it.Category, Urgent: it.Urgent || it.Category.IsUrgent(),
		Test: it.Test, LookupID: it.LookupID, Envelope: it.Envelope}
	r, err := tlog.ParseReceipt(rb)
	if err != nil {
		return 0, err
	}
	if err := r.Verify(sub.Marshal(), a.logV); err != nil {
		return 0, err
	}
	cp, err := tlog.OpenCheckpoint(r.Checkpoint, a.logV)
	if err != nil {
		return 0, err
	}
	return cp.Size, nil
}
