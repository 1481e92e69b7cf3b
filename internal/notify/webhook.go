package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Webhook headers. The signature is
//
//	sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// over the exact request body and the timestamp header's value (Unix
// seconds), so that a receiver can refuse a replayed call by its age. A
// receiver may see a delivery more than once (a retry after a lost answer);
// the delivery header identifies it.
const (
	HeaderSignature = "X-Qorgau-Signature"
	HeaderTimestamp = "X-Qorgau-Timestamp"
	HeaderDelivery  = "X-Qorgau-Delivery"
	HeaderEvent     = "X-Qorgau-Event"
)

// WebhookPayload is the JSON body of a webhook call.
type WebhookPayload struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Time      time.Time `json:"time"`
	Body      string    `json:"body"`   // the body whose webhook this is
	Bodies    []string  `json:"bodies"` // every body the notice is addressed to
	Region    string    `json:"region,omitempty"`
	Facility  string    `json:"facility,omitempty"`
	Device    string    `json:"device,omitempty"`
	Complaint *int64    `json:"complaint,omitempty"`
	Key       string    `json:"key"`
	Text      string    `json:"text"`
}

// Sign returns the signature header's value of a webhook body sent at
// timestamp (Unix seconds, as in the timestamp header).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// NewSecret returns a fresh webhook secret: 32 random bytes, base64url.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// callWebhook POSTs notice n to a body's webhook. A 2xx answer is success;
// a redirect, and 4xx other than 408 and 429, are permanent; anything else
// is retried.
func (s *Service) callWebhook(ctx context.Context, hook *store.Webhook, d store.Delivery, n *qorgau.Notice) error {
	p := WebhookPayload{ID: n.ID, Kind: string(n.Kind), Time: n.Time, Body: hook.Body, Bodies: n.Bodies,
		Region: n.Region, Facility: n.Facility, Device: n.Device, Key: n.Key, Text: n.Text}
	if hasComplaint(n) {
		p.Complaint = &n.Complaint
	}
	body, err := json.Marshal(p)
	if err != nil {
		return permanent(err)
	}
	ts := strconv.FormatInt(s.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Qorgau-Webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(hook.Secret, ts, body))
	req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
	req.Header.Set(HeaderEvent, string(n.Kind))
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return permanent(fmt.Errorf("webhook %s redirects to %q: set the final URL", hook.URL, resp.Header.Get("Location")))
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429:
		return permanent(fmt.Errorf("webhook %s answered %s", hook.URL, resp.Status))
	}
	return fmt.Errorf("webhook %s answered %s", hook.URL, resp.Status)
}

// hasComplaint reports whether n names a complaint: the kinds about one.
func hasComplaint(n *qorgau.Notice) bool {
	return n.Kind == qorgau.NoticeDueSoon || n.Kind == qorgau.NoticeOverdue || n.Kind == qorgau.NoticeTestDelivered
}
