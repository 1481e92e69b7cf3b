package kiosk

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
//
// after, if not nil, names the dropped entry the first one chains to: the
// server takes it when it holds less than that, having lost entries it
// acknowledged (a restore from an older backup), and records the gap.
func (c *Client) Journal(ctx context.Context, entries []qorgau.JournalEntry, after *qorgau.JournalLink) (int64, error) {
	up := map[string]any{"entries": entries}
	if after != nil {
		up["after"] = after
	}
	body, err := json.Marshal(up)
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

// BeatSession is a heartbeat session the server opened for this terminal
// (qorgau.BeatSessionOpen describes the protocol). It is used by one
// goroutine at a time.
type BeatSession struct {
	ID string
	// Interval is the heartbeat interval the server asks for, in seconds.
	Interval int
	// URL is where the heartbeats go: the server's heartbeat listener
	// (qorgau.BeatSession.BeatURL), or, if empty, the server's own route.
	URL     string
	mac     hash.Hash
	counter uint64
}

// OpenBeatSession opens a heartbeat session with a signed request: an
// X25519 exchange whose result, the session key, never crosses the
// network. An *APIError with status 404 means the server has no sessions
// (an older server, or no fleet watch): send signed heartbeats instead.
func (c *Client) OpenBeatSession(ctx context.Context, boot string) (*BeatSession, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := priv.PublicKey().Bytes()
	body, err := json.Marshal(qorgau.BeatSessionOpen{Boot: boot, Ephemeral: pub})
	if err != nil {
		return nil, err
	}
	var r qorgau.BeatSession
	if err := c.do(ctx, http.MethodPost, "/api/terminal/v1/heartbeat/session", "application/json", body, &r); err != nil {
		return nil, err
	}
	peer, err := ecdh.X25519().NewPublicKey(r.Ephemeral)
	if err != nil {
		return nil, fmt.Errorf("heartbeat session: the server's ephemeral key: %w", err)
	}
	secret, err := priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("heartbeat session: %w", err)
	}
	if r.Session == "" || len(r.Session) > 64 {
		return nil, fmt.Errorf("heartbeat session: the server sent no usable session id")
	}
	key, err := qorgau.BeatSessionKey(secret, pub, r.Ephemeral, c.DeviceID, r.Session)
	if err != nil {
		return nil, err
	}
	return &BeatSession{ID: r.Session, Interval: r.Interval, URL: c.beatURL(r.BeatURL), mac: qorgau.NewBeatHMAC(key)}, nil
}

// beatURL returns the heartbeat listener's URL the server named, if it is
// an absolute http or https URL, and not plain http under an https server
// (heartbeats are authenticated, not secret, but a terminal told to use
// TLS keeps using it); otherwise "", the server's own route.
func (c *Client) beatURL(named string) string {
	u, err := url.Parse(named)
	if named == "" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	if u.Scheme == "http" && strings.HasPrefix(c.Server, "https:") {
		return ""
	}
	return u.String()
}

// errBeatReply is a heartbeat answer whose MAC does not verify.
var errBeatReply = errors.New("heartbeat: the answer's MAC does not verify under the session key")

// Beat sends one heartbeat under session s, with the next counter, and
// returns the server's answer once its MAC verifies. An *APIError with
// status 401 means the server no longer holds the session: open a new one.
// When the session's heartbeat listener (s.URL) cannot be reached, the
// heartbeat goes to the server's own route, which holds the same session,
// and so do the session's later ones.
func (c *Client) Beat(ctx context.Context, s *BeatSession, hb *qorgau.Heartbeat) (*qorgau.HeartbeatReply, error) {
	body, err := json.Marshal(hb)
	if err != nil {
		return nil, err
	}
	r, err := c.beat(ctx, s, body)
	var ae *APIError
	if err != nil && s.URL != "" && !errors.As(err, &ae) && !errors.Is(err, errBeatReply) && ctx.Err() == nil {
		s.URL = ""
		r, err = c.beat(ctx, s, body)
	}
	return r, err
}

func (c *Client) beat(ctx context.Context, s *BeatSession, body []byte) (*qorgau.HeartbeatReply, error) {
	s.counter++
	n := s.counter
	mac := qorgau.BeatMAC(nil, s.mac, s.ID, n, body)
	to := s.URL
	if to == "" {
		to = strings.TrimSuffix(c.Server, "/") + "/api/terminal/v1/heartbeat/beat"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(qorgau.HeaderSession, s.ID)
	req.Header.Set(qorgau.HeaderCounter, strconv.FormatUint(n, 10))
	req.Header.Set(qorgau.HeaderMAC, base64.RawURLEncoding.EncodeToString(mac))
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(b))
		}
		return nil, ae
	}
	got, err := base64.RawURLEncoding.DecodeString(resp.Header.Get(qorgau.HeaderMAC))
	if err != nil || !hmac.Equal(got, qorgau.BeatReplyMAC(nil, s.mac, s.ID, n, b)) {
		return nil, errBeatReply
	}
	var r qorgau.HeartbeatReply
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bad answer: %w", err)
	}
	return &r, nil
}
