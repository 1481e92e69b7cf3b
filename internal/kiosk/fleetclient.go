package kiosk

import (
	"context"
	"encoding/json"
	"net/http"

	"qorgau.kz/qorgau"
)

// Heartbeat sends a signed heartbeat and returns the server's answer: the
// interval to use from now on, the server's log size and the highest
// journal entry it holds for this terminal.
func (c *Client) Heartbeat(ctx context.Context, hb *qorgau.Heartbeat) (*qorgau.HeartbeatReply, error) {
	body, err := json.Marshal(hb)
	if err != nil {
		return nil, err
	}
	var r qorgau.HeartbeatReply
	if err := c.do(ctx, http.MethodPost, "/api/terminal/v1/heartbeat", "application/json", body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Journal uploads entries of the terminal's hash-chained journal, which
// must continue what the server holds, and returns the highest entry the
// server now holds.
func (c *Client) Journal(ctx context.Context, entries []qorgau.JournalEntry) (int64, error) {
	body, err := json.Marshal(map[string]any{"entries": entries})
	if err != nil {
		return 0, err
	}
	var r struct {
		Seq int64 `json:"journal_seq"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/terminal/v1/journal", "application/json", body, &r); err != nil {
		return 0, err
	}
	return r.Seq, nil
}

// Usage sends a day's anonymous usage counters; the server keeps the
// latest report of each day.
func (c *Client) Usage(ctx context.Context, u *qorgau.UsageReport) error {
	body, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/api/terminal/v1/usage", "application/json", body, nil)
}

// FacilityInfo is what the server tells a terminal about its facility.
type FacilityInfo = qorgau.TerminalFacility

// Facility fetches the enrolled terminal's facility and its zones.
func (c *Client) Facility(ctx context.Context) (*FacilityInfo, error) {
	var f FacilityInfo
	if err := c.do(ctx, http.MethodGet, "/api/terminal/v1/facility", "", nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
