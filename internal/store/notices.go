package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"net/url"
	"time"

	"qorgau.kz/qorgau"
)

// Delivery channels of a notice.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// SaveNotice stores n with its bodies and, in the same transaction, one
// pending delivery per channel and recipient: an email to every enabled
// member of the bodies who gave an address (when email is true), and a
// webhook call per body that has a webhook. It sets n.ID. A notice whose
// Key is already stored is not stored again: SaveNotice sets n.ID to the
// stored one and returns false. Errors: EINVALID for a bad notice.
func (db *DB) SaveNotice(ctx context.Context, n *qorgau.Notice, email bool) (created bool, err error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	if n.Time.IsZero() {
		n.Time = db.now()
	}
	n.Time = n.Time.UTC().Truncate(time.Microsecond)
	var complaint sql.NullInt64
	if n.Kind == qorgau.NoticeDueSoon || n.Kind == qorgau.NoticeOverdue || n.Kind == qorgau.NoticeTestDelivered || n.Complaint > 0 {
		complaint = sql.NullInt64{Int64: n.Complaint, Valid: true}
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO notices (key, at, kind, region, facility, device, complaint, text)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING RETURNING id`,
			n.Key, n.Time, string(n.Kind), n.Region, n.Facility, n.Device, complaint, n.Text).Scan(&n.ID)
		if err == sql.ErrNoRows {
			return tx.QueryRowContext(ctx, `SELECT id FROM notices WHERE key = $1`, n.Key).Scan(&n.ID)
		} else if err != nil {
			return fmt.Errorf("save notice: %w", err)
		}
		created = true
		seen := map[string]bool{}
		for _, b := range n.Bodies {
			if seen[b] {
				continue
			}
			seen[b] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO notice_bodies (notice, body) VALUES ($1, $2)`, n.ID, b); err != nil {
				return fmt.Errorf("save notice: %w", err)
			}
			if email {
				if _, err := tx.ExecContext(ctx, `INSERT INTO notice_deliveries (notice, channel, target, next_at)
					SELECT $1, 'email', u.email, $2 FROM users u
					WHERE u.body = $3 AND u.role = 'member' AND u.email <> '' AND NOT u.disabled
					ON CONFLICT (notice, channel, target) DO NOTHING`, n.ID, n.Time, b); err != nil {
					return fmt.Errorf("save notice: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO notice_deliveries (notice, channel, target, next_at)
				SELECT $1, 'webhook', w.body, $2 FROM body_webhooks w WHERE w.body = $3`, n.ID, n.Time, b); err != nil {
				return fmt.Errorf("save notice: %w", err)
			}
		}
		return nil
	})
	return created, err
}

const noticeColumns = `n.id, n.key, n.at, n.kind, n.region, n.facility, n.device, COALESCE(n.complaint, 0), n.text`

func scanNotice(s interface{ Scan(...any) error }, n *qorgau.Notice, more ...any) error {
	if err := s.Scan(append([]any{&n.ID, &n.Key, &n.Time, &n.Kind, &n.Region, &n.Facility, &n.Device, &n.Complaint, &n.Text}, more...)...); err != nil {
		return err
	}
	n.Time = n.Time.UTC()
	return nil
}

// Notice returns the notice with the given id and its bodies, or ENOTFOUND.
func (db *DB) Notice(ctx context.Context, id int64) (*qorgau.Notice, error) {
	var n qorgau.Notice
	if err := scanNotice(db.r.QueryRowContext(ctx, `SELECT `+noticeColumns+` FROM notices n WHERE n.id = $1`, id), &n); err != nil {
		return nil, notFound(err, "notice %d not found", id)
	}
	bodies, err := db.noticeBodies(ctx, id, id)
	if err != nil {
		return nil, err
	}
	n.Bodies = bodies[id]
	return &n, nil
}

// noticeBodies returns the bodies of the notices with ids from lo to hi.
func (db *DB) noticeBodies(ctx context.Context, lo, hi int64) (map[int64][]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT notice, body FROM notice_bodies WHERE notice >= $1 AND notice <= $2 ORDER BY notice, body`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("notice bodies: %w", err)
	}
	defer rows.Close()
	m := map[int64][]string{}
	for rows.Next() {
		var id int64
		var b string
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		m[id] = append(m[id], b)
	}
	return m, rows.Err()
}

// NoticeScope selects the notices a reader may see: those addressed to
// Body, or to any body of kind BodyKind; the zero scope sees all.
type NoticeScope struct {
	Body     string
	BodyKind qorgau.BodyKind
}

// scopeSQL is the condition of a scope over notices n, with the body at
// placeholder $1 and the kind at $2.
const scopeSQL = `(($1 = '' AND $2 = '') OR EXISTS (SELECT 1 FROM notice_bodies nb LEFT JOIN bodies b ON b.code = nb.body
	WHERE nb.notice = n.id AND ($1 = '' OR nb.body = $1) AND ($2 = '' OR b.kind = $2)))`

// NoticeRow is a notice as one reader sees it.
type NoticeRow struct {
	qorgau.Notice
	Read bool
}

// Notices returns up to limit notices of the scope, newest first, each
// marked read if user has read it.
func (db *DB) Notices(ctx context.Context, scope NoticeScope, user int64, limit int) ([]NoticeRow, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+noticeColumns+`,
			EXISTS (SELECT 1 FROM notice_reads r WHERE r.notice = n.id AND r.user_id = $3)
		FROM notices n WHERE `+scopeSQL+` ORDER BY n.id DESC LIMIT $4`, scope.Body, string(scope.BodyKind), user, limit)
	if err != nil {
		return nil, fmt.Errorf("notices: %w", err)
	}
	defer rows.Close()
	var list []NoticeRow
	for rows.Next() {
		var r NoticeRow
		if err := scanNotice(rows, &r.Notice, &r.Read); err != nil {
			return nil, fmt.Errorf("notices: %w", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	bodies, err := db.noticeBodies(ctx, list[len(list)-1].ID, list[0].ID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Bodies = bodies[list[i].ID]
	}
	return list, nil
}

// UnreadNotices counts the notices of the scope user has not read.
func (db *DB) UnreadNotices(ctx context.Context, scope NoticeScope, user int64) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM notices n WHERE `+scopeSQL+`
		AND NOT EXISTS (SELECT 1 FROM notice_reads r WHERE r.notice = n.id AND r.user_id = $3)`,
		scope.Body, string(scope.BodyKind), user).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("unread notices: %w", err)
	}
	return n, nil
}

// MarkNoticesRead marks as read, for user, the notice id, or every notice
// of the scope when id is 0. A notice outside the scope is ENOTFOUND.
func (db *DB) MarkNoticesRead(ctx context.Context, scope NoticeScope, user, id int64) error {
	res, err := db.w.ExecContext(ctx, `INSERT INTO notice_reads (notice, user_id, read_at)
		SELECT n.id, $3, $4 FROM notices n WHERE `+scopeSQL+` AND ($5 = 0 OR n.id = $5)
		ON CONFLICT (notice, user_id) DO NOTHING`, scope.Body, string(scope.BodyKind), user, db.now(), id)
	if err != nil {
		return fmt.Errorf("mark notices read: %w", err)
	}
	if id != 0 {
		if n, _ := res.RowsAffected(); n == 0 {
			// Either already read or not the reader's: tell which.
			var x int
			err := db.r.QueryRowContext(ctx, `SELECT 1 FROM notices n WHERE `+scopeSQL+` AND n.id = $3`,
				scope.Body, string(scope.BodyKind), id).Scan(&x)
			return notFound(err, "notice %d not found", id)
		}
	}
	return nil
}

// Delivery is one pending email or webhook call of a notice.
type Delivery struct {
	ID       int64
	Notice   int64
	Channel  string // ChannelEmail or ChannelWebhook
	Target   string // an email address, or the body whose webhook is called
	Attempts int
	NextAt   time.Time
}

// DueDeliveries returns up to limit pending deliveries whose time has come,
// oldest first.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, notice, channel, target, attempts, next_at FROM notice_deliveries
		WHERE done_at IS NULL AND next_at <= $1 ORDER BY next_at, id LIMIT $2`, now.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rows.Close()
	var list []Delivery
	for rows.Next() {
		var d Delivery
		if err := rows.Scan(&d.ID, &d.Notice, &d.Channel, &d.Target, &d.Attempts, &d.NextAt); err != nil {
			return nil, err
		}
		d.NextAt = d.NextAt.UTC()
		list = append(list, d)
	}
	return list, rows.Err()
}

// NextDelivery returns when the earliest pending delivery is due, and false
// when none is pending.
func (db *DB) NextDelivery(ctx context.Context) (time.Time, bool, error) {
	var t time.Time
	err := db.r.QueryRowContext(ctx, `SELECT next_at FROM notice_deliveries WHERE done_at IS NULL ORDER BY next_at LIMIT 1`).Scan(&t)
	if err == sql.ErrNoRows {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery: %w", err)
	}
	return t.UTC(), true, nil
}

// ClaimDelivery takes a due delivery for one attempt: it moves its time
// to leaseUntil, so that no other server sends it meanwhile, and reports
// whether this caller got it. A sender that dies during the attempt leaves
// the delivery to be tried again when the lease ends.
func (db *DB) ClaimDelivery(ctx context.Context, id int64, now, leaseUntil time.Time) (bool, error) {
	res, err := db.w.ExecContext(ctx, `UPDATE notice_deliveries SET next_at = $1 WHERE id = $2 AND done_at IS NULL AND next_at <= $3`,
		leaseUntil.UTC(), id, now.UTC())
	if err != nil {
		return false, fmt.Errorf("claim delivery: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeliveryDone records that a delivery succeeded.
func (db *DB) DeliveryDone(ctx context.Context, id int64) error {
	_, err := db.w.ExecContext(ctx, `UPDATE notice_deliveries SET done_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2`, db.now(), id)
	if err != nil {
		return fmt.Errorf("delivery done: %w", err)
	}
	return nil
}

// DeliveryFailed records a failed attempt: the delivery is tried again at
// next, or, when giveUp, never again.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, next time.Time, reason string, giveUp bool) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	var err error
	if giveUp {
		_, err = db.w.ExecContext(ctx, `UPDATE notice_deliveries SET done_at = $1, failed = TRUE, attempts = attempts + 1, last_error = $2 WHERE id = $3`,
			db.now(), reason, id)
	} else {
		_, err = db.w.ExecContext(ctx, `UPDATE notice_deliveries SET next_at = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3`,
			next.UTC(), reason, id)
	}
	if err != nil {
		return fmt.Errorf("delivery failed: %w", err)
	}
	return nil
}

// DeliveryState is what happened to a notice's delivery, for tests and
// the operator.
type DeliveryState struct {
	Delivery
	Done      bool
	Failed    bool
	LastError string
}

// NoticeDeliveries returns the deliveries of a notice.
func (db *DB) NoticeDeliveries(ctx context.Context, notice int64) ([]DeliveryState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, notice, channel, target, attempts, next_at, done_at IS NOT NULL, failed, last_error
		FROM notice_deliveries WHERE notice = $1 ORDER BY channel, target`, notice)
	if err != nil {
		return nil, fmt.Errorf("notice deliveries: %w", err)
	}
	defer rows.Close()
	var list []DeliveryState
	for rows.Next() {
		var d DeliveryState
		if err := rows.Scan(&d.ID, &d.Notice, &d.Channel, &d.Target, &d.Attempts, &d.NextAt, &d.Done, &d.Failed, &d.LastError); err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// SetUserEmail sets the address a user receives notices at ("" for none)
// and appends audit in the same transaction. Errors: EINVALID for an
// address that is not one, ENOTFOUND for an unknown user.
func (db *DB) SetUserEmail(ctx context.Context, name, email string, audit *qorgau.AuditRecord) error {
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || len(email) > 254 {
			return qorgau.Errorf(EINVALID, "%q is not an email address (write it as name@example.kz)", email)
		}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET email = $1 WHERE name = $2`, email, name)
		if err != nil {
			return fmt.Errorf("set email: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return qorgau.Errorf(ENOTFOUND, "user %q not found", name)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// UserEmail returns a user's address for notices, "" for none.
func (db *DB) UserEmail(ctx context.Context, name string) (string, error) {
	var e string
	if err := db.r.QueryRowContext(ctx, `SELECT email FROM users WHERE name = $1`, name).Scan(&e); err != nil {
		return "", notFound(err, "user %q not found", name)
	}
	return e, nil
}

// Webhook is where a body's notices are POSTed, and the secret they are
// signed with.
type Webhook struct {
	Body    string
	URL     string
	Secret  string
	Created time.Time
}

// SetWebhook sets a body's webhook, replacing any, and appends audit in the
// same transaction. Errors: EINVALID for a URL that is not http(s) or an
// unknown body.
func (db *DB) SetWebhook(ctx context.Context, w *Webhook, audit *qorgau.AuditRecord) error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(w.URL) > 2000 {
		return qorgau.Errorf(EINVALID, "webhook URL %q must be an http:// or https:// URL", w.URL)
	}
	if len(w.Secret) < 32 {
		return qorgau.Errorf(EINVALID, "a webhook secret has at least 32 characters")
	}
	if _, err := db.Body(ctx, w.Body); qorgau.ErrorCode(err) == ENOTFOUND {
		return qorgau.Errorf(EINVALID, "no recipient body with code %q", w.Body)
	} else if err != nil {
		return err
	}
	w.Created = db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO body_webhooks (body, url, secret, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (body) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at`,
			w.Body, w.URL, w.Secret, w.Created); err != nil {
			return fmt.Errorf("set webhook: %w", err)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// RemoveWebhook removes a body's webhook; deliveries still pending for it
// are dropped when they come due. ENOTFOUND if the body has none.
func (db *DB) RemoveWebhook(ctx context.Context, body string, audit *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM body_webhooks WHERE body = $1`, body)
		if err != nil {
			return fmt.Errorf("remove webhook: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return qorgau.Errorf(ENOTFOUND, "body %s has no webhook", body)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// BodyWebhook returns a body's webhook, or ENOTFOUND.
func (db *DB) BodyWebhook(ctx context.Context, body string) (*Webhook, error) {
	var w Webhook
	err := db.r.QueryRowContext(ctx, `SELECT body, url, secret, created_at FROM body_webhooks WHERE body = $1`, body).
		Scan(&w.Body, &w.URL, &w.Secret, &w.Created)
	if err != nil {
		return nil, notFound(err, "body %s has no webhook", body)
	}
	w.Created = w.Created.UTC()
	return &w, nil
}

// DeadlineCopy is a body's open copy of a complaint near or past its term.
type DeadlineCopy struct {
	Complaint int64
	Body      string
	Due       time.Time
	Facility  string
	Region    string
}

// openStates are the states of a copy still waiting for an answer.
const openStates = `('delivered', 'registered', 'under-review', 'extended')`

// DueSoonCopies returns open copies whose term ends from now to until and
// that have no due_soon notice yet.
func (db *DB) DueSoonCopies(ctx context.Context, now, until time.Time, limit int) ([]DeadlineCopy, error) {
	return db.deadlineCopies(ctx, qorgau.NoticeDueSoon, limit, `b.due_at >= $3 AND b.due_at <= $4`, now.UTC(), until.UTC())
}

// OverdueCopies returns open copies with an overdue event (see
// NewlyOverdue) and no overdue notice yet.
func (db *DB) OverdueCopies(ctx context.Context, limit int) ([]DeadlineCopy, error) {
	return db.deadlineCopies(ctx, qorgau.NoticeOverdue, limit, `EXISTS (SELECT 1 FROM complaint_events e
		WHERE e.complaint = b.complaint AND e.body = b.body AND e.event = 'overdue')`)
}

// deadlineCopies returns open copies that meet cond (whose placeholders
// start at $3) and have no notice of kind yet.
func (db *DB) deadlineCopies(ctx context.Context, kind qorgau.NoticeKind, limit int, cond string, args ...any) ([]DeadlineCopy, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT b.complaint, b.body, b.due_at, c.facility, c.region
		FROM complaint_bodies b JOIN complaints c ON c.id = b.complaint
		WHERE b.state IN `+openStates+` AND `+cond+`
		AND NOT EXISTS (SELECT 1 FROM notices n JOIN notice_bodies nb ON nb.notice = n.id
			WHERE n.complaint = b.complaint AND n.kind = $1 AND nb.body = b.body)
		ORDER BY b.due_at, b.complaint LIMIT $2`, append([]any{string(kind), limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("deadline copies: %w", err)
	}
	defer rows.Close()
	var list []DeadlineCopy
	for rows.Next() {
		var d DeadlineCopy
		if err := rows.Scan(&d.Complaint, &d.Body, &d.Due, &d.Facility, &d.Region); err != nil {
			return nil, err
		}
		d.Due = d.Due.UTC()
		list = append(list, d)
	}
	return list, rows.Err()
}

// CreateMonitorTest stores a test code by its hash and appends audit in the
// same transaction; it sets t.ID.
func (db *DB) CreateMonitorTest(ctx context.Context, codeHash string, t *qorgau.MonitorTest, audit *qorgau.AuditRecord) error {
	t.CreatedAt = db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO monitor_tests (code_hash, created_by, body, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, codeHash, t.CreatedBy, t.Body, t.CreatedAt, t.ExpiresAt.UTC()).Scan(&t.ID); err != nil {
			return fmt.Errorf("create test code: %w", err)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// errBadTestCode is the one answer to every unusable code, so that a
// terminal learns nothing about which codes exist.
var errBadTestCode = qorgau.Errorf(qorgau.EFORBIDDEN, "the test code is not valid: unknown, used or expired")

// ClaimMonitorTest uses the test code with hash codeHash for the complaint
// with idempotency id idem from device: it returns the test and true when
// the code was unused and unexpired and is now used, or false when the code
// was already used for the same device and idem (a terminal's retry).
// Anything else is EFORBIDDEN and changes nothing.
func (db *DB) ClaimMonitorTest(ctx context.Context, codeHash, device, idem string, now time.Time) (*qorgau.MonitorTest, bool, error) {
	var t qorgau.MonitorTest
	fresh := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT id, created_by, body, created_at, expires_at, used_at, device, idem FROM monitor_tests WHERE code_hash = $1`, codeHash).
			Scan(&t.ID, &t.CreatedBy, &t.Body, &t.CreatedAt, &t.ExpiresAt, &used, &t.Device, &t.Idem)
		if err == sql.ErrNoRows {
			return errBadTestCode
		} else if err != nil {
			return fmt.Errorf("claim test code: %w", err)
		}
		if used.Valid {
			if t.Device == device && t.Idem == idem {
				t.UsedAt = used.Time.UTC()
				return nil
			}
			return errBadTestCode
		}
		if !now.Before(t.ExpiresAt) {
			return errBadTestCode
		}
		t.UsedAt, t.Device, t.Idem = now.UTC().Truncate(time.Microsecond), device, idem
		res, err := tx.ExecContext(ctx, `UPDATE monitor_tests SET used_at = $1, device = $2, idem = $3 WHERE id = $4 AND used_at IS NULL`,
			t.UsedAt, device, idem, t.ID)
		if err != nil {
			return fmt.Errorf("claim test code: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errBadTestCode // used by a concurrent request
		}
		fresh = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return &t, fresh, nil
}

// ReleaseMonitorTest makes a code claimed by ClaimMonitorTest usable again,
// when the submission it was claimed for was refused.
func (db *DB) ReleaseMonitorTest(ctx context.Context, id int64) error {
	_, err := db.w.ExecContext(ctx, `UPDATE monitor_tests SET used_at = NULL, device = '', idem = '' WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("release test code: %w", err)
	}
	return nil
}

// TestArrival is when a test complaint reached one body: delivered into its
// inbox, and first read by one of its members (zero if not yet).
type TestArrival struct {
	Body      string
	Delivered time.Time
	FirstRead time.Time
}

// TestComplaint is a monitor's test code and what became of it.
type TestComplaint struct {
	qorgau.MonitorTest
	Complaint int64 // -1 while no complaint was filed with the code
	Received  time.Time
	Facility  string
	Arrivals  []TestArrival
}

// MonitorTests returns the test codes created by a user, newest first, with
// the complaints filed with them and their arrival at each body.
func (db *DB) MonitorTests(ctx context.Context, createdBy string, limit int) ([]TestComplaint, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT t.id, t.created_by, t.body, t.created_at, t.expires_at, t.used_at, t.device, t.idem,
			COALESCE(c.id, -1), c.received_at, COALESCE(c.facility, '')
		FROM monitor_tests t LEFT JOIN complaints c ON c.idem = t.idem AND t.idem <> ''
		WHERE t.created_by = $1 ORDER BY t.id DESC LIMIT $2`, createdBy, limit)
	if err != nil {
		return nil, fmt.Errorf("test complaints: %w", err)
	}
	defer rows.Close()
	var list []TestComplaint
	for rows.Next() {
		var tc TestComplaint
		var used, received sql.NullTime
		if err := rows.Scan(&tc.ID, &tc.CreatedBy, &tc.Body, &tc.CreatedAt, &tc.ExpiresAt, &used, &tc.Device, &tc.Idem,
			&tc.Complaint, &received, &tc.Facility); err != nil {
			return nil, fmt.Errorf("test complaints: %w", err)
		}
		tc.CreatedAt, tc.ExpiresAt = tc.CreatedAt.UTC(), tc.ExpiresAt.UTC()
		if used.Valid {
			tc.UsedAt = used.Time.UTC()
		}
		if received.Valid {
			tc.Received = received.Time.UTC()
		}
		list = append(list, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range list {
		if list[i].Complaint < 0 {
			continue
		}
		if list[i].Arrivals, err = db.testArrivals(ctx, list[i].Complaint); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// testArrivals returns when a complaint was delivered to each body and
// first read there, from the audit log's complaint.read records.
func (db *DB) testArrivals(ctx context.Context, complaint int64) ([]TestArrival, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT body, delivered_at FROM complaint_bodies WHERE complaint = $1 ORDER BY delivered_at, body`, complaint)
	if err != nil {
		return nil, fmt.Errorf("test arrivals: %w", err)
	}
	var list []TestArrival
	index := map[string]int{}
	for rows.Next() {
		var a TestArrival
		if err := rows.Scan(&a.Body, &a.Delivered); err != nil {
			rows.Close()
			return nil, err
		}
		a.Delivered = a.Delivered.UTC()
		index[a.Body] = len(list)
		list = append(list, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	reads, err := db.r.QueryContext(ctx, `SELECT COALESCE(u.body, ''), a.at FROM audit_log a JOIN users u ON u.name = a.actor
		WHERE a.action = $1 AND a.target = $2 ORDER BY a.seq`, qorgau.AuditComplaintRead, fmt.Sprint(complaint))
	if err != nil {
		return nil, fmt.Errorf("test arrivals: %w", err)
	}
	defer reads.Close()
	for reads.Next() {
		var body string
		var at time.Time
		if err := reads.Scan(&body, &at); err != nil {
			return nil, err
		}
		if i, ok := index[body]; ok && list[i].FirstRead.IsZero() {
			list[i].FirstRead = at.UTC()
		}
	}
	return list, reads.Err()
}

// BodiesOfKind returns the codes of the bodies of a kind.
func (db *DB) BodiesOfKind(ctx context.Context, kind qorgau.BodyKind) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT code FROM bodies WHERE kind = $1 ORDER BY code`, string(kind))
	if err != nil {
		return nil, fmt.Errorf("bodies of kind: %w", err)
	}
	defer rows.Close()
	var list []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}
