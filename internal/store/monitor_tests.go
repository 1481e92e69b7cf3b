package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
)

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

// CheckMonitorTest returns nil if the test code with hash codeHash could
// be used at now: it exists, is unused and has not expired. Anything else
// is the EFORBIDDEN error ClaimMonitorTest would return. It changes
// nothing: a kiosk asks before it seals and queues a test complaint.
func (db *DB) CheckMonitorTest(ctx context.Context, codeHash string, now time.Time) error {
	var expires time.Time
	var used sql.NullTime
	err := db.r.QueryRowContext(ctx, `SELECT expires_at, used_at FROM monitor_tests WHERE code_hash = $1`, codeHash).Scan(&expires, &used)
	switch {
	case err == sql.ErrNoRows:
		return errBadTestCode
	case err != nil:
		return fmt.Errorf("check test code: %w", err)
	case used.Valid || !now.Before(expires):
		return errBadTestCode
	}
	return nil
}

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
