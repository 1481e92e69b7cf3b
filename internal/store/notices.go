package store

import (
	"context"
	"database/sql"
	"fmt"
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
// stored one and returns false. Errors: EINVALID for a bad notice or one
// addressed to an unknown body.
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
			var known int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bodies WHERE code = $1`, b).Scan(&known); err != nil {
				return fmt.Errorf("save notice: %w", err)
			} else if known == 0 {
				return qorgau.Errorf(EINVALID, "a notice is addressed to %q, which is no recipient body", b)
			}
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
