// Package notify tells the members of oversight bodies about notices
// (qorgau.Notice): it stores each notice once, for the console, and sends it
// by email over SMTP to the members of its bodies who gave an address, and
// by a signed webhook call to each body that configured one.
//
// Notify only stores: the notice and every delivery it owes are written in
// one transaction, and Run sends them in the background. A delivery that
// fails is retried with exponential back-off, also after a restart, since
// what is owed lives in the database, until it succeeds, fails for good
// (a permanent SMTP or HTTP refusal) or runs out of attempts.
//
// Email and webhooks carry the notice's own fields and its English Text
// only: never complaint content or a complainant's identity.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Config says how notices are sent.
type Config struct {
	// Mail sends email; nil sends none.
	Mail *SMTP
	// ConsoleURL, if set, is named in emails as where to read notices,
	// e.g. https://qorgau.example.kz.
	ConsoleURL string
	// HTTP calls webhooks; nil means a client with a 15 s timeout that
	// does not follow redirects.
	HTTP *http.Client
	// MaxAttempts bounds the tries of one delivery; 12 if 0.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between tries, which
	// doubles from MinBackoff; 30 s and 6 h if 0.
	MinBackoff, MaxBackoff time.Duration
}

// Service is a qorgau.Notifier over the store. Create it with New and start
// Run.
type Service struct {
	db   *store.DB
	log  *slog.Logger
	cfg  Config
	wake chan struct{}

	// Now is the clock; tests replace it.
	Now func() time.Time
}

var _ qorgau.Notifier = (*Service)(nil)

// New returns a notifier over db.
func New(db *store.DB, logger *slog.Logger, cfg Config) *Service {
	if cfg.HTTP == nil {
		// A redirect is answered, not followed: a POST must reach the URL
		// the administrator set, not wherever that URL points.
		cfg.HTTP = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(6*time.Hour, cfg.MinBackoff)
	}
	return &Service{db: db, log: logger, cfg: cfg, wake: make(chan struct{}, 1), Now: time.Now}
}

// Notify stores n, unless a notice with its Key is stored already, with
// the deliveries it owes, and wakes Run to send them. It sets n.ID. It
// blocks only for one database transaction. Errors: EINVALID for a bad
// notice; the store's errors.
func (s *Service) Notify(ctx context.Context, n *qorgau.Notice) error {
	if n.Time.IsZero() {
		n.Time = s.Now()
	}
	created, err := s.db.SaveNotice(ctx, n, s.cfg.Mail != nil)
	if err != nil {
		return err
	}
	if created {
		s.log.Info("notice", "kind", n.Kind, "key", n.Key, "bodies", n.Bodies)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run sends owed deliveries until ctx is cancelled: at once when Notify
// stores a notice, and when a retry comes due.
func (s *Service) Run(ctx context.Context) error {
	for {
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("notice deliveries", "err", err)
		}
		wait := time.Minute
		if next, ok, err := s.db.NextDelivery(ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(s.Now()), 50*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// DeliverDue makes one attempt at every delivery whose time has come, and
// returns how many succeeded. Each is claimed first, so that several
// servers over one database send it once. A failed attempt is scheduled
// again with back-off, or given up when it cannot succeed.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	sent := 0
	for {
		list, err := s.db.DueDeliveries(ctx, s.Now(), 100)
		if err != nil || len(list) == 0 {
			return sent, err
		}
		for _, d := range list {
			now := s.Now()
			if ok, err := s.db.ClaimDelivery(ctx, d.ID, now, now.Add(attemptLease)); err != nil {
				return sent, err
			} else if !ok {
				continue // another server took it
			}
			err := s.deliver(ctx, d)
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
			if err == nil {
				sent++
				if err := s.db.DeliveryDone(ctx, d.ID); err != nil {
					return sent, err
				}
				continue
			}
			giveUp := isPermanent(err) || d.Attempts+1 >= s.cfg.MaxAttempts
			next := s.Now().Add(s.backoff(d.Attempts))
			s.log.Warn("notice delivery failed", "channel", d.Channel, "target", d.Target, "notice", d.Notice,
				"attempt", d.Attempts+1, "give_up", giveUp, "err", err)
			if err := s.db.DeliveryFailed(ctx, d.ID, next, err.Error(), giveUp); err != nil {
				return sent, err
			}
		}
	}
}

// attemptLease is how long a claimed delivery is kept from other servers:
// longer than one attempt may take (deliver's timeout).
const attemptLease = 2 * time.Minute

// backoff is the wait after the attempts-th failure: MinBackoff doubled
// per failure, at most MaxBackoff, less up to a fifth at random so that
// many retries do not arrive together.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.MinBackoff
	for range min(attempts, 30) {
		d *= 2
		if d >= s.cfg.MaxBackoff {
			d = s.cfg.MaxBackoff
			break
		}
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func (s *Service) deliver(ctx context.Context, d store.Delivery) error {
	n, err := s.db.Notice(ctx, d.Notice)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, attemptLease/2)
	defer cancel()
	switch d.Channel {
	case store.ChannelEmail:
		if s.cfg.Mail == nil {
			return permanent(errors.New("email is not configured (QORGAU_SMTP_ADDR)"))
		}
		return s.cfg.Mail.Send(ctx, d.Target, s.email(n, d.Target))
	case store.ChannelWebhook:
		hook, err := s.db.BodyWebhook(ctx, d.Target)
		if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
			return permanent(fmt.Errorf("body %s no longer has a webhook", d.Target))
		} else if err != nil {
			return err
		}
		return s.callWebhook(ctx, hook, d, n)
	}
	return permanent(fmt.Errorf("unknown channel %q", d.Channel))
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
