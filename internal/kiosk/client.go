// Package kiosk is the terminal side of Qorgau: the client of the terminal
// API that enrols a kiosk, fetches the signed directory of bodies, seals
// and submits complaints, and fetches receipts. The kiosk agent and the
// load simulator (qorgau sim) both use it.
package kiosk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

// Enrollment is what the server tells a terminal when it enrols.
type Enrollment = qorgau.Enrollment

// Enroll redeems a one-time token for the device key's public half.
func Enroll(ctx context.Context, hc *http.Client, server, token string, key ed25519.PrivateKey) (*Enrollment, error) {
	body, _ := json.Marshal(map[string]string{
		"token": token, "public_key": base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(server, "/")+"/api/terminal/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	var e Enrollment
	if err := roundTrip(hc, req, &e); err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	return &e, nil
}

// Client signs requests to the terminal API with the device key.
type Client struct {
	Server   string // base URL
	HTTP     *http.Client
	DeviceID string
	Key      ed25519.PrivateKey
	// Now is the clock the timestamps come from; nil means time.Now.
	Now func() time.Time
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether retrying the same request may succeed: the
// server was busy or failing, not refusing the request itself.
func (e *APIError) Temporary() bool { return e.Status >= 500 || e.Status == http.StatusTooManyRequests }

func roundTrip(hc *http.Client, req *http.Request, out any) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(b))
		}
		return ae
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = b
	default:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("bad answer: %w", err)
		}
	}
	return nil
}

// maxAnswer bounds what the client reads of an answer.
const maxAnswer = 32 << 20

// readAnswer reads an answer's body, at most maxAnswer bytes of it, into
// one buffer of the announced length when there is one, instead of
// growing it as io.ReadAll does: qorgau sim reads thousands of answers a
// second and should not measure its own garbage.
func readAnswer(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= maxAnswer {
		// net/http refuses a body shorter or longer than its length.
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
}

// PreparedRequest is a request to the terminal API, signed when it was
// prepared and sent later. The server accepts it only within its
// clock-skew window of the signing (±5 minutes by default) and only once,
// since it refuses a nonce it has seen.
type PreparedRequest struct {
	method string
	url    string
	header http.Header
	body   []byte
}

// Parts returns the prepared request's method, URL, headers and body, for
// sending with another HTTP client; the headers must not be changed.
func (p *PreparedRequest) Parts() (method, url string, header http.Header, body []byte) {
	return p.method, p.url, p.header, p.body
}

// sign signs a request with the device key, stamped with the time now.
func (c *Client) sign(method, pathQuery, ctype string, body []byte) (*PreparedRequest, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	nb := make([]byte, 16)
	if _, err := rand.Read(nb); err != nil {
		return nil, err
	}
	dr := qorgau.DeviceRequest{Method: method, Path: pathQuery, Body: body, DeviceID: c.DeviceID,
		Time: now(), Nonce: base64.RawURLEncoding.EncodeToString(nb)}
	h := make(http.Header, 5)
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	h.Set(qorgau.HeaderDevice, c.DeviceID)
	h.Set(qorgau.HeaderTimestamp, strconv.FormatInt(dr.Time.Unix(), 10))
	h.Set(qorgau.HeaderNonce, dr.Nonce)
	h.Set(qorgau.HeaderSignature, dr.Sign(c.Key))
	return &PreparedRequest{method: method, url: strings.TrimSuffix(c.Server, "/") + pathQuery, header: h, body: body}, nil
}

// send sends a signed request and decodes the JSON answer into out (or the
// raw body, if out is a *[]byte).
func (c *Client) send(ctx context.Context, p *PreparedRequest, out any) error {
	req, err := http.NewRequestWithContext(ctx, p.method, p.url, bytes.NewReader(p.body))
	if err != nil {
		return err
	}
	req.Header = p.header
	return roundTrip(c.HTTP, req, out)
}

// do signs a request and sends it at once.
func (c *Client) do(ctx context.Context, method, pathQuery, ctype string, body []byte, out any) error {
	p, err := c.sign(method, pathQuery, ctype, body)
	if err != nil {
		return err
	}
	return c.send(ctx, p, out)
}

// Directory fetches the signed directory and checks it against the pinned
// directory key; have is the version the terminal already holds, and an
// older directory is refused.
func (c *Client) Directory(ctx context.Context, dirKey ed25519.PublicKey, have uint64) (*seal.Directory, error) {
	var b []byte
	if err := c.do(ctx, http.MethodGet, "/api/terminal/v1/directory", "", nil, &b); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return seal.VerifyDirectory(b, dirKey, have)
}

// Routing is the data the server needs in the clear to deliver a complaint.
type Routing struct {
	Bodies   []string
	Category qorgau.Category
	Urgent   bool
	Test     bool
	LookupID string
	// TestCode is a monitor's one-time code; the server accepts Test only
	// with a valid, unused one.
	TestCode string
}

// Submitted is the server's answer to a submission.
type Submitted struct {
	Complaint int64    `json:"complaint"`
	Bodies    []string `json:"bodies"`
	Receipt   string   `json:"receipt"` // base64 C2SP tlog-proof
}

// SubmitPath returns the request path of a submission with this routing.
func (r Routing) SubmitPath() string {
	q := url.Values{}
	q.Set("bodies", strings.Join(r.Bodies, ","))
	q.Set("category", string(r.Category))
	q.Set("lookup", r.LookupID)
	if r.Urgent {
		q.Set("urgent", "1")
	}
	if r.Test {
		q.Set("test", "1")
	}
	if r.TestCode != "" {
		q.Set("test_code", r.TestCode)
	}
	return "/api/terminal/v1/complaints?" + q.Encode()
}

// Submit sends a sealed envelope. Sending the same envelope again returns
// the same complaint: retries are safe.
func (c *Client) Submit(ctx context.Context, envelope []byte, r Routing) (*Submitted, error) {
	p, err := c.PrepareSubmit(envelope, r)
	if err != nil {
		return nil, err
	}
	var s Submitted
	if err := c.send(ctx, p, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// PrepareSubmit signs the submission of a sealed envelope now, for Send to
// send later: a load generator signs outside its timed phase, as a real
// terminal signs on its own processor. See PreparedRequest for how long
// the signature is accepted.
func (c *Client) PrepareSubmit(envelope []byte, r Routing) (*PreparedRequest, error) {
	return c.sign(http.MethodPost, r.SubmitPath(), "application/vnd.qorgau.envelope", envelope)
}

// Send sends a prepared request and returns the server's answer undecoded
// (ParseSubmitted decodes a submission's). A refusal is an *APIError: one
// with status 401 if p was sent before or its signature is too old.
func (c *Client) Send(ctx context.Context, p *PreparedRequest) ([]byte, error) {
	var b []byte
	if err := c.send(ctx, p, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// ParseSubmitted decodes the answer Send returned for a submission.
func ParseSubmitted(b []byte) (*Submitted, error) {
	var s Submitted
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("bad answer: %w", err)
	}
	return &s, nil
}

// Receipt fetches a complaint's receipt against the newest checkpoint.
func (c *Client) Receipt(ctx context.Context, complaint int64) ([]byte, error) {
	var s Submitted
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/terminal/v1/complaints/%d/receipt", complaint), "", nil, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s.Receipt)
}

// FollowupReply, FollowupEvent and FollowupComplaint are the follow-up
// answer's parts (see qorgau.FollowupComplaint).
type (
	FollowupReply     = qorgau.FollowupReply
	FollowupEvent     = qorgau.FollowupEvent
	FollowupComplaint = qorgau.FollowupComplaint
)

// Followup fetches the status history and sealed answers of the complaints
// filed under a receipt code's lookup id.
func (c *Client) Followup(ctx context.Context, lookupID string) ([]FollowupComplaint, error) {
	var out struct {
		Complaints []FollowupComplaint `json:"complaints"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/terminal/v1/followup/"+url.PathEscape(lookupID), "", nil, &out); err != nil {
		return nil, err
	}
	return out.Complaints, nil
}

// CheckTestCode asks the server whether a monitor's test code can be
// used, without using it. A refused code is an *APIError with status 400
// (malformed) or 403 (unknown, used or expired).
func (c *Client) CheckTestCode(ctx context.Context, code string) error {
	body, _ := json.Marshal(map[string]string{"test_code": code})
	return c.do(ctx, http.MethodPost, "/api/terminal/v1/test-codes/check", "application/json", body, nil)
}

// AnswerRead tells the server the person read the answers to a complaint.
func (c *Client) AnswerRead(ctx context.Context, complaint int64, lookupID string) error {
	body, _ := json.Marshal(map[string]string{"lookup": lookupID})
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/api/terminal/v1/complaints/%d/read", complaint), "application/json", body, nil)
}
