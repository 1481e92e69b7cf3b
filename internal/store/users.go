package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
)

const userColumns = `u.id, u.name, u.full_name, u.role, COALESCE(u.body, ''), COALESCE(u.facility, ''),
	u.password_hash, u.must_change_password, u.totp_secret, u.disabled, u.created_at`

func scanUser(s interface{ Scan(...any) error }, u *qorgau.User) error {
	if err := s.Scan(userFields(u)...); err != nil {
		return err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return nil
}

func userFields(u *qorgau.User) []any {
	return []any{&u.ID, &u.Name, &u.FullName, &u.Role, &u.Body, &u.Facility,
		&u.PasswordHash, &u.MustChangePassword, &u.TOTPSecret, &u.Disabled, &u.CreatedAt}
}

// CreateUser inserts u, sets its ID and CreatedAt, and appends audit in the
// same transaction. A taken name is an ECONFLICT error; an unknown body or
// facility is EINVALID.
func (db *DB) CreateUser(ctx context.Context, u *qorgau.User, audit *qorgau.AuditRecord) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := db.checkUserRefs(ctx, u); err != nil {
		return err
	}
	u.CreatedAt = db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, full_name, role, body, facility, password_hash,
			must_change_password, totp_secret, disabled, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			u.Name, u.FullName, string(u.Role), nullIfEmpty(u.Body), nullIfEmpty(u.Facility), u.PasswordHash,
			u.MustChangePassword, u.TOTPSecret, u.Disabled, u.CreatedAt).Scan(&u.ID)
		if isUniqueViolation(err) {
			return qorgau.Errorf(ECONFLICT, "a user named %q already exists", u.Name)
		} else if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

func (db *DB) checkUserRefs(ctx context.Context, u *qorgau.User) error {
	if u.Body != "" {
		if _, err := db.Body(ctx, u.Body); err != nil {
			if qorgau.ErrorCode(err) == ENOTFOUND {
				return qorgau.Errorf(EINVALID, "no recipient body with code %q", u.Body)
			}
			return err
		}
	}
	if u.Facility != "" {
		if _, err := db.Facility(ctx, u.Facility); err != nil {
			if qorgau.ErrorCode(err) == ENOTFOUND {
				return qorgau.Errorf(EINVALID, "no facility with code %q", u.Facility)
			}
			return err
		}
	}
	return nil
}

// UpdateUser saves every field of u but ID, Name and CreatedAt, and appends
// audit in the same transaction. Changing the role, disabling the user or
// its password ends its sessions.
func (db *DB) UpdateUser(ctx context.Context, u *qorgau.User, endSessions bool, audit *qorgau.AuditRecord) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := db.checkUserRefs(ctx, u); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET full_name = $1, role = $2, body = $3, facility = $4,
			password_hash = $5, must_change_password = $6, totp_secret = $7, disabled = $8 WHERE id = $9`,
			u.FullName, string(u.Role), nullIfEmpty(u.Body), nullIfEmpty(u.Facility),
			u.PasswordHash, u.MustChangePassword, u.TOTPSecret, u.Disabled, u.ID)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return qorgau.Errorf(ENOTFOUND, "user %d not found", u.ID)
		}
		if endSessions {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// UserByName returns the user with the given login name, or ENOTFOUND.
func (db *DB) UserByName(ctx context.Context, name string) (*qorgau.User, error) {
	var u qorgau.User
	if err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = $1`, name), &u); err != nil {
		return nil, notFound(err, "user %q not found", name)
	}
	return &u, nil
}

// Users returns every user ordered by name.
func (db *DB) Users(ctx context.Context) ([]qorgau.User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var list []qorgau.User
	for rows.Next() {
		var u qorgau.User
		if err := scanUser(rows, &u); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		list = append(list, u)
	}
	return list, rows.Err()
}

// CreateSession stores s.
func (db *DB) CreateSession(ctx context.Context, s *qorgau.Session) error {
	s.CreatedAt = db.now()
	s.LastSeen = s.CreatedAt
	_, err := db.w.ExecContext(ctx, `INSERT INTO sessions (id, user_id, stage, created_at, last_seen, addr)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, s.UserID, string(s.Stage), s.CreatedAt, s.LastSeen, s.Addr)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the session with the given id and its user, or ENOTFOUND.
func (db *DB) Session(ctx context.Context, id string) (*qorgau.Session, *qorgau.User, error) {
	var s qorgau.Session
	var u qorgau.User
	err := db.r.QueryRowContext(ctx, `SELECT s.id, s.user_id, s.stage, s.created_at, s.last_seen, s.addr, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`, id).
		Scan(append([]any{&s.ID, &s.UserID, &s.Stage, &s.CreatedAt, &s.LastSeen, &s.Addr}, userFields(&u)...)...)
	if err != nil {
		return nil, nil, notFound(err, "session not found")
	}
	return &s, &u, nil
}

// TouchSession records activity on a session and sets its stage.
func (db *DB) TouchSession(ctx context.Context, id string, stage qorgau.SessionStage) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE sessions SET last_seen = $1, stage = $2 WHERE id = $3`, db.now(), string(stage), id); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteIdleSessions ends every session idle since before idleSince or
// created before createdSince, and returns how many it ended.
func (db *DB) DeleteIdleSessions(ctx context.Context, idleSince, createdSince time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2`,
		idleSince.UTC(), createdSince.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete idle sessions: %w", err)
	}
	return res.RowsAffected()
}
