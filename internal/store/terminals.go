package store

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
)

// CreateEnrollmentToken stores a one-time enrolment token for a terminal,
// by its id (the token's hash), valid until expires, and appends audit in
// the same transaction. The device must exist and be a terminal.
func (db *DB) CreateEnrollmentToken(ctx context.Context, id, device string, expires time.Time, audit *qorgau.AuditRecord) error {
	var kind string
	if err := db.r.QueryRowContext(ctx, `SELECT kind FROM devices WHERE id = $1`, device).Scan(&kind); err != nil {
		if err == sql.ErrNoRows {
			return qorgau.Errorf(EINVALID, "no device with id %q", device)
		}
		return fmt.Errorf("enrolment token: %w", err)
	}
	if kind != string(qorgau.DeviceTerminal) {
		return qorgau.Errorf(EINVALID, "device %q is a %s, not a terminal", device, kind)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO enrollment_tokens (id, device, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			id, device, db.now(), expires.UTC()); err != nil {
			return fmt.Errorf("enrolment token: %w", err)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// Enroll redeems the token with the given id for a terminal's public key:
// it marks the token used and records the key, replacing any earlier one,
// in one transaction with audit. It returns the device. A token that is
// unknown, used or expired is an EUNAUTHORIZED error and changes nothing.
func (db *DB) Enroll(ctx context.Context, tokenID string, pub ed25519.PublicKey, audit *qorgau.AuditRecord) (*qorgau.Device, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, qorgau.Errorf(EINVALID, "public key must be %d bytes of Ed25519", ed25519.PublicKeySize)
	}
	now := db.now()
	var device string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var expires time.Time
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT device, expires_at, used_at FROM enrollment_tokens WHERE id = $1`, tokenID).
			Scan(&device, &expires, &used)
		switch {
		case err == sql.ErrNoRows:
			return qorgau.Errorf(qorgau.EUNAUTHORIZED, "unknown enrolment token")
		case err != nil:
			return fmt.Errorf("enrol: %w", err)
		case used.Valid:
			return qorgau.Errorf(qorgau.EUNAUTHORIZED, "this enrolment token was already used")
		case !now.Before(expires):
			return qorgau.Errorf(qorgau.EUNAUTHORIZED, "this enrolment token expired at %s", expires.UTC().Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrollment_tokens SET used_at = $1 WHERE id = $2`, now, tokenID); err != nil {
			return fmt.Errorf("enrol: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO device_keys (device, public_key, enrolled_at) VALUES ($1, $2, $3)
			ON CONFLICT (device) DO UPDATE SET public_key = excluded.public_key, enrolled_at = excluded.enrolled_at, revoked_at = NULL`,
			device, []byte(pub), now); err != nil {
			return fmt.Errorf("enrol: %w", err)
		}
		if audit != nil {
			audit.Target = device
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.Device(ctx, device)
}

// DeviceKey is an enrolled terminal's key and what the server knows of the
// terminal.
type DeviceKey struct {
	Device   string
	Facility string
	Region   string
	Public   ed25519.PublicKey
	Enrolled time.Time
	Revoked  bool
}

// DeviceKey returns the enrolled key of a terminal, or ENOTFOUND if it never
// enrolled.
func (db *DB) DeviceKey(ctx context.Context, device string) (*DeviceKey, error) {
	var k DeviceKey
	var pub []byte
	var revoked sql.NullTime
	err := db.r.QueryRowContext(ctx, `SELECT k.device, d.facility, f.region, k.public_key, k.enrolled_at, k.revoked_at
		FROM device_keys k JOIN devices d ON d.id = k.device JOIN facilities f ON f.code = d.facility
		WHERE k.device = $1`, device).Scan(&k.Device, &k.Facility, &k.Region, &pub, &k.Enrolled, &revoked)
	if err != nil {
		return nil, notFound(err, "device %q is not enrolled", device)
	}
	k.Public, k.Revoked = ed25519.PublicKey(pub), revoked.Valid
	return &k, nil
}

// RevokeDeviceKey retires a terminal's key, so that its requests are
// refused until it enrols again, and appends audit in the same transaction.
func (db *DB) RevokeDeviceKey(ctx context.Context, device string, audit *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_keys SET revoked_at = $1 WHERE device = $2 AND revoked_at IS NULL`, db.now(), device)
		if err != nil {
			return fmt.Errorf("revoke device key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return qorgau.Errorf(ENOTFOUND, "device %q has no active key", device)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}
