// Package complaints accepts complaints from terminals and keeps the
// inboxes of the recipient bodies: it checks a sealed envelope against the
// terminal that signed it and the bodies it is encrypted to, logs it in the
// complaint log, and delivers it to each body's inbox with its statutory
// clock.
//
// The log is the source of truth. A complaint's rows in the store are a
// projection of its log object, written after the log has committed; a
// crash between the two is repaired by CatchUp when the server starts.
package complaints

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/tlog"
)

// KindComplaint is the log record kind of a complaint leaf.
const KindComplaint = "complaint"

// Service accepts and delivers complaints. Its fields are set once, before
// use.
type Service struct {
	DB       *store.DB
	Log      *tlog.Log
	Rules    qorgau.Rules
	Calendar *qorgau.Calendar
	// MaxEnvelope bounds an envelope in bytes; seal.DefaultMaxSize if 0.
	MaxEnvelope int
	Logger      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Notifier, if set, is told of copies due soon and overdue
	// (NotifyDeadlines).
	Notifier qorgau.Notifier

	queueOnce  sync.Once
	deliveries chan *store.Complaint // to Run, which writes them in batches
	running    atomic.Bool

	mu         sync.Mutex
	keyBody    map[string]string // body key id → body; a key never changes body
	bodies     []qorgau.Body
	bodyByCode map[string]qorgau.Body
	bodiesAge  time.Time
}

// bodiesTTL is how long the list of bodies is cached: a body added by an
// import can receive complaints this long after.
const bodiesTTL = 10 * time.Second

// SubmitRequest is a terminal's submission: the sealed envelope and the
// routing data the server needs in the clear.
type SubmitRequest struct {
	Envelope []byte
	Bodies   []string
	Category qorgau.Category
	Urgent   bool
	Test     bool
	LookupID string // 32 hex digits, derived from the receipt code
}

// Submitted is the answer to a submission.
type Submitted struct {
	ID      int64
	Receipt *tlog.Receipt
	Bodies  []string
}

// Submit checks a submission from the terminal dev and, if it is sound,
// logs it and delivers it to every recipient's inbox. It returns only after
// the log has committed. A retry with the envelope's idempotency id returns
// the same complaint. Errors: EINVALID for anything wrong with the
// submission (nothing is stored), ETOOLARGE for an envelope over the limit,
// ECONFLICT for a reused idempotency id with other content.
func (s *Service) Submit(ctx context.Context, dev *store.DeviceKey, req SubmitRequest) (*Submitted, error) {
	sub, env, err := s.check(ctx, dev, req)
	if err != nil {
		return nil, err
	}
	receipt, err := s.Log.Append(ctx, tlog.Entry{
		Kind:          KindComplaint,
		IdempotencyID: "complaint:" + dev.Device + ":" + env.IdempotencyID,
		Object:        sub.Marshal(),
		Meta:          map[string]string{"region": sub.Region},
	})
	if err != nil {
		return nil, err
	}
	c := s.projection(receipt.Index, sub, "complaint:"+dev.Device+":"+env.IdempotencyID, s.now())
	if s.running.Load() {
		select {
		case s.queue() <- c:
		case <-ctx.Done():
			// Logged but not yet delivered: CatchUp delivers it at the next start.
		}
	} else if err := s.DB.SaveComplaint(ctx, c); err != nil {
		s.Logger.Error("deliver complaint", "index", receipt.Index, "err", err)
	}
	return &Submitted{ID: receipt.Index, Receipt: receipt, Bodies: sub.Bodies}, nil
}

func (s *Service) queue() chan *store.Complaint {
	s.queueOnce.Do(func() { s.deliveries = make(chan *store.Complaint, 4096) })
	return s.deliveries
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// deliveryWindow is how long Run gathers complaints for one delivery
// transaction. It delays only the inbox rows; the terminal has its receipt.
// Each transaction writes the right edges of the complaint tables and the
// inbox index pages again, and takes SQLite's one write lock from the
// log's batches: under qorgau sim, 20 ms windows cost the server about 15 %
// less CPU per complaint than 2 ms ones, and longer ones lengthen the log's
// p99 behind the larger transactions without saving more.
const deliveryWindow = 20 * time.Millisecond

// Run delivers logged complaints to the inboxes until ctx is cancelled,
// writing those that arrive within deliveryWindow of the first in one
// transaction, so that delivery keeps up with the log's group commits.
// Without Run, Submit delivers each complaint in its own transaction.
func (s *Service) Run(ctx context.Context) error {
	q := s.queue()
	s.running.Store(true)
	defer s.running.Store(false)
	for {
		var batch []*store.Complaint
		select {
		case <-ctx.Done():
			return nil
		case c := <-q:
			batch = append(batch, c)
		}
		// Submitters queue their complaints one by one as the log's
		// group commit answers them; gathering for a moment writes them
		// in one transaction instead of many small ones, each of which
		// would write the same index pages to the WAL again.
		window := time.NewTimer(deliveryWindow)
	more:
		for len(batch) < 4096 {
			select {
			case c := <-q:
				batch = append(batch, c)
			case <-window.C:
				break more
			case <-ctx.Done():
				break more
			}
		}
		window.Stop()
		if err := s.DB.SaveComplaints(context.WithoutCancel(ctx), batch); err != nil {
			// They are in the log: CatchUp delivers them at the next start.
			s.Logger.Error("deliver complaints", "count", len(batch), "first", batch[0].ID, "err", err)
		}
	}
}

func (s *Service) maxEnvelope() int {
	if s.MaxEnvelope > 0 {
		return s.MaxEnvelope
	}
	return seal.DefaultMaxSize
}

// check validates a submission and returns what would be logged, and the
// parsed envelope.
func (s *Service) check(ctx context.Context, dev *store.DeviceKey, req SubmitRequest) (*Submission, *seal.Envelope, error) {
	// seal.ParseEnvelope refuses it too, but as EINVALID: too large is
	// its own answer (413), as for a request over the body limit.
	if n, limit := len(req.Envelope), s.maxEnvelope(); n > limit {
		return nil, nil, qorgau.Errorf(qorgau.ETOOLARGE, "the envelope is %d bytes, over the limit of %d bytes", n, limit)
	}
	if !slices.Contains(qorgau.Categories, req.Category) {
		return nil, nil, qorgau.Errorf(qorgau.EINVALID, "category %q is not one of the categories", req.Category)
	}
	if !qorgau.ValidLookupID(req.LookupID) {
		return nil, nil, qorgau.Errorf(qorgau.EINVALID, "lookup id must be 32 lower-case hex digits")
	}
	if len(req.Bodies) == 0 || len(req.Bodies) > seal.MaxRecipients {
		return nil, nil, qorgau.Errorf(qorgau.EINVALID, "a complaint goes to 1 to %d bodies", seal.MaxRecipients)
	}
	env, err := seal.ParseEnvelope(req.Envelope, s.maxEnvelope())
	if err != nil {
		return nil, nil, err
	}
	if env.DeviceID != dev.Device {
		return nil, nil, qorgau.Errorf(qorgau.EINVALID, "the envelope was sealed by %q, not by this terminal", env.DeviceID)
	}
	if err := env.Verify(dev.Public); err != nil {
		return nil, nil, qorgau.Errorf(qorgau.EINVALID, "the envelope's signature does not verify with this terminal's key")
	}

	// The routing must match the encryption: exactly the bodies the
	// envelope is encrypted to, each of this region or national.
	bodies, byCode, err := s.cachedBodies(ctx)
	if err != nil {
		return nil, nil, err
	}
	encrypted := map[string]bool{}
	for _, id := range env.KeyIDs {
		body, err := s.bodyOfKey(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		encrypted[body] = true
	}
	chosen := slices.Clone(req.Bodies)
	sort.Strings(chosen)
	for i, code := range chosen {
		if i > 0 && chosen[i-1] == code {
			return nil, nil, qorgau.Errorf(qorgau.EINVALID, "body %s is named twice", code)
		}
		b, ok := byCode[code]
		if !ok {
			return nil, nil, qorgau.Errorf(qorgau.EINVALID, "unknown body %q", code)
		}
		if b.Region != "" && b.Region != dev.Region {
			return nil, nil, qorgau.Errorf(qorgau.EINVALID, "body %s serves region %s, not this terminal's %s", code, b.Region, dev.Region)
		}
		if !encrypted[code] {
			return nil, nil, qorgau.Errorf(qorgau.EINVALID, "body %s is named but the envelope is not encrypted to it", code)
		}
	}
	if len(encrypted) != len(chosen) {
		return nil, nil, qorgau.Errorf(qorgau.EINVALID, "the envelope is encrypted to %d bodies but %d are named", len(encrypted), len(chosen))
	}
	urgent := req.Urgent || req.Category.IsUrgent()
	if urgent {
		for _, need := range s.Rules.UrgentRecipients(bodies, dev.Region) {
			if !encrypted[need] {
				return nil, nil, qorgau.Errorf(qorgau.EINVALID, "an urgent complaint must also go to %s (%s), in parallel", need, byCode[need].Kind)
			}
		}
	}
	return &Submission{
		Device: dev.Device, Facility: dev.Facility, Region: dev.Region, Bodies: chosen,
		Category: req.Category, Urgent: urgent, Test: req.Test, LookupID: req.LookupID, Envelope: req.Envelope,
	}, env, nil
}

// UrgentBodies returns the bodies every urgent complaint from the region
// must also go to, for the directory terminals receive.
func (s *Service) UrgentBodies(ctx context.Context, region string) ([]string, error) {
	bodies, _, err := s.cachedBodies(ctx)
	if err != nil {
		return nil, err
	}
	return s.Rules.UrgentRecipients(bodies, region), nil
}

// cachedBodies returns the bodies, and the same by code, read again every
// bodiesTTL. Neither may be changed.
func (s *Service) cachedBodies(ctx context.Context) ([]qorgau.Body, map[string]qorgau.Body, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bodies != nil && time.Since(s.bodiesAge) < bodiesTTL {
		return s.bodies, s.bodyByCode, nil
	}
	b, err := s.DB.Bodies(ctx)
	if err != nil {
		return nil, nil, err
	}
	byCode := make(map[string]qorgau.Body, len(b))
	for _, x := range b {
		byCode[x.Code] = x
	}
	s.bodies, s.bodyByCode, s.bodiesAge = b, byCode, time.Now()
	return b, byCode, nil
}

// bodyOfKey returns the body a key id belongs to; the answer never changes,
// so it is remembered.
func (s *Service) bodyOfKey(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	body, ok := s.keyBody[id]
	s.mu.Unlock()
	if ok {
		return body, nil
	}
	k, err := s.DB.BodyKeyByID(ctx, id)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		return "", qorgau.Errorf(qorgau.EINVALID, "the envelope is encrypted to key %s, which is no recipient body's", id)
	} else if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.keyBody == nil {
		s.keyBody = map[string]string{}
	}
	s.keyBody[id] = k.Body
	s.mu.Unlock()
	return k.Body, nil
}

// projection returns the store rows of the complaint logged at index.
func (s *Service) projection(index int64, sub *Submission, idem string, received time.Time) *store.Complaint {
	received = received.UTC().Truncate(time.Microsecond)
	due := s.Rules.Due(s.Calendar, received)
	c := &store.Complaint{
		ID: index, Idem: idem, Device: sub.Device, Facility: sub.Facility, Region: sub.Region,
		Category: sub.Category, Urgent: sub.Urgent, Test: sub.Test, LookupID: sub.LookupID, Received: received,
	}
	for _, b := range sub.Bodies {
		c.Bodies = append(c.Bodies, store.ComplaintBody{Body: b, State: qorgau.StateDelivered, Delivered: received, Due: due})
	}
	return c
}

// CatchUp delivers every logged complaint that has no store rows yet, as
// after a crash between the log's commit and the delivery. serve runs it
// before it accepts requests. It returns how many it delivered.
func (s *Service) CatchUp(ctx context.Context) (int, error) {
	ids, err := s.DB.UnprojectedLeaves(ctx, KindComplaint)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		leaf, err := s.DB.LogLeaf(ctx, id)
		if err != nil {
			return 0, err
		}
		if leaf.Object == nil {
			s.Logger.Warn("complaint erased before delivery", "index", id)
			continue
		}
		sub, err := ParseSubmission(leaf.Object)
		if err != nil {
			return 0, fmt.Errorf("complaint %d: %w", id, err)
		}
		received, err := s.DB.LogLeafTime(ctx, id)
		if err != nil {
			return 0, err
		}
		if err := s.DB.SaveComplaint(ctx, s.projection(id, sub, leaf.IdempotencyID, received)); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Directory builds the signed directory of the bodies a terminal of the
// region may write to: the region's and the national ones that have a key.
// Its version is the time of the latest key change, so that it grows.
func Directory(ctx context.Context, db *store.DB, region string, replySalt []byte) (*seal.Directory, error) {
	bodies, err := db.Bodies(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := db.CurrentBodyKeys(ctx)
	if err != nil {
		return nil, err
	}
	current := map[string]store.BodyKey{}
	var latest time.Time
	for _, k := range keys {
		current[k.Body] = k
		if k.CreatedAt.After(latest) {
			latest = k.CreatedAt
		}
	}
	d := &seal.Directory{ReplySalt: replySalt}
	for _, b := range bodies {
		k, ok := current[b.Code]
		if !ok || (b.Region != "" && b.Region != region) {
			continue
		}
		d.Bodies = append(d.Bodies, seal.DirectoryBody{Body: b, KeyVersion: k.Version, Recipient: k.Recipient})
	}
	sort.Slice(d.Bodies, func(i, j int) bool { return d.Bodies[i].Code < d.Bodies[j].Code })
	d.Issued = latest.UTC().Truncate(time.Second)
	d.Version = uint64(max(latest.Unix(), 1))
	return d, nil
}
