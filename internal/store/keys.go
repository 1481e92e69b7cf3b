package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"qorgau.kz/qorgau"
)

// MemberKey is a staff member's age key pair: the public recipient, to
// which body keys are wrapped, and the identity wrapped by the member's
// passphrase (see seal.NewMemberKey).
type MemberKey struct {
	UserID    int64
	Recipient string
	Wrapped   []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SetMemberKey stores a user's member key, replacing the one it had, and
// appends audit in the same transaction. Re-wrapping the same key under a
// new passphrase keeps the user's body key wraps; a different recipient
// deletes them, since they were encrypted to the old key, and the user must
// be added to the bodies again. An unknown user is ENOTFOUND; a recipient
// another user has is ECONFLICT.
func (db *DB) SetMemberKey(ctx context.Context, userID int64, recipient string, wrapped []byte, audit *qorgau.AuditRecord) error {
	if recipient == "" || len(wrapped) == 0 {
		return qorgau.Errorf(EINVALID, "a member key needs a recipient and a wrapped identity")
	}
	if audit == nil {
		return fmt.Errorf("set member key: a key change needs an audit record")
	}
	now := db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT recipient FROM member_keys WHERE user_id = $1`, userID).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO member_keys (user_id, recipient, wrapped, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $4)`, userID, recipient, wrapped, now)
		case err != nil:
			return fmt.Errorf("set member key: %w", err)
		default:
			if old != recipient {
				if _, err := tx.ExecContext(ctx, `DELETE FROM body_key_wraps WHERE user_id = $1`, userID); err != nil {
					return fmt.Errorf("set member key: %w", err)
				}
				_, err = tx.ExecContext(ctx, `UPDATE member_keys SET recipient = $1, wrapped = $2, created_at = $3, updated_at = $3
					WHERE user_id = $4`, recipient, wrapped, now, userID)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE member_keys SET wrapped = $1, updated_at = $2 WHERE user_id = $3`, wrapped, now, userID)
			}
		}
		if isUniqueViolation(err) {
			return qorgau.Errorf(ECONFLICT, "another user has this member key")
		} else if isForeignKeyViolation(err) {
			return qorgau.Errorf(ENOTFOUND, "user %d not found", userID)
		} else if err != nil {
			return fmt.Errorf("set member key: %w", err)
		}
		return db.appendAudit(ctx, tx, audit)
	})
}

// MemberKey returns a user's member key, or ENOTFOUND if it has none.
func (db *DB) MemberKey(ctx context.Context, userID int64) (*MemberKey, error) {
	k := MemberKey{UserID: userID}
	err := db.r.QueryRowContext(ctx, `SELECT recipient, wrapped, created_at, updated_at FROM member_keys WHERE user_id = $1`, userID).
		Scan(&k.Recipient, &k.Wrapped, &k.CreatedAt, &k.UpdatedAt)
	if err != nil {
		return nil, notFound(err, "user %d has no member key", userID)
	}
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return &k, nil
}

// BodyMember is a user with the recipient of their member key, "" if they
// have none yet.
type BodyMember struct {
	qorgau.User
	Recipient string
}

// BodyMembers returns the users with role member of a body, enabled or
// not, ordered by name, with their member keys.
func (db *DB) BodyMembers(ctx context.Context, body string) ([]BodyMember, error) {
	return db.members(ctx, `SELECT `+userColumns+`, COALESCE(k.recipient, '') FROM users u
		LEFT JOIN member_keys k ON k.user_id = u.id
		WHERE u.role = 'member' AND u.body = $1 ORDER BY u.name`, body)
}

// BodyKeyHolders returns the users who hold a wrap of a version of a body's
// key, ordered by name, with their member keys.
func (db *DB) BodyKeyHolders(ctx context.Context, body string, version int) ([]BodyMember, error) {
	return db.members(ctx, `SELECT `+userColumns+`, COALESCE(k.recipient, '') FROM users u
		JOIN body_key_wraps w ON w.user_id = u.id AND w.body = $1 AND w.version = $2
		LEFT JOIN member_keys k ON k.user_id = u.id
		ORDER BY u.name`, body, version)
}

func (db *DB) members(ctx context.Context, query string, args ...any) ([]BodyMember, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var list []BodyMember
	for rows.Next() {
		var m BodyMember
		if err := rows.Scan(append(userFields(&m.User), &m.Recipient)...); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		list = append(list, m)
	}
	return list, rows.Err()
}

// BodyKey is one version of a body's key, public half only.
type BodyKey struct {
	Body      string
	Version   int
	KeyID     string // seal.KeyID(Recipient)
	Recipient string // age X25519 or hybrid recipient
	CreatedAt time.Time
	RetiredAt time.Time // zero while current
	Holders   []string  // names of the users holding a wrap; filled by BodyKeys
}

// Current reports whether k is its body's current key.
func (k *BodyKey) Current() bool { return k.RetiredAt.IsZero() }

const bodyKeyColumns = `k.body, k.version, k.key_id, k.recipient, k.created_at, k.retired_at`

func scanBodyKey(s interface{ Scan(...any) error }, k *BodyKey, extra ...any) error {
	var retired sql.NullTime
	if err := s.Scan(append([]any{&k.Body, &k.Version, &k.KeyID, &k.Recipient, &k.CreatedAt, &retired}, extra...)...); err != nil {
		return err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if retired.Valid {
		k.RetiredAt = retired.Time.UTC()
	}
	return nil
}

// BodyKeys returns every version of a body's key, newest first, each with
// the names of its holders. A body without keys has none; that is not an
// error.
func (db *DB) BodyKeys(ctx context.Context, body string) ([]BodyKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+bodyKeyColumns+`, COALESCE(u.name, '') FROM body_keys k
		LEFT JOIN body_key_wraps w ON w.body = k.body AND w.version = k.version
		LEFT JOIN users u ON u.id = w.user_id
		WHERE k.body = $1 ORDER BY k.version DESC, u.name`, body)
	if err != nil {
		return nil, fmt.Errorf("list body keys: %w", err)
	}
	defer rows.Close()
	var list []BodyKey
	for rows.Next() {
		var k BodyKey
		var holder string
		if err := scanBodyKey(rows, &k, &holder); err != nil {
			return nil, fmt.Errorf("list body keys: %w", err)
		}
		if n := len(list); n == 0 || list[n-1].Version != k.Version {
			list = append(list, k)
		}
		if holder != "" {
			last := &list[len(list)-1]
			last.Holders = append(last.Holders, holder)
		}
	}
	return list, rows.Err()
}

// CurrentBodyKey returns a body's current key, or ENOTFOUND if it has none.
func (db *DB) CurrentBodyKey(ctx context.Context, body string) (*BodyKey, error) {
	var k BodyKey
	err := scanBodyKey(db.r.QueryRowContext(ctx, `SELECT `+bodyKeyColumns+` FROM body_keys k
		WHERE k.body = $1 AND k.retired_at IS NULL`, body), &k)
	if err != nil {
		return nil, notFound(err, "body %q has no key", body)
	}
	return &k, nil
}

// CurrentBodyKeys returns the current key of every body that has one,
// ordered by body code: what the directory lists.
func (db *DB) CurrentBodyKeys(ctx context.Context) ([]BodyKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+bodyKeyColumns+` FROM body_keys k
		WHERE k.retired_at IS NULL ORDER BY k.body`)
	if err != nil {
		return nil, fmt.Errorf("list current body keys: %w", err)
	}
	defer rows.Close()
	var list []BodyKey
	for rows.Next() {
		var k BodyKey
		if err := scanBodyKey(rows, &k); err != nil {
			return nil, fmt.Errorf("list current body keys: %w", err)
		}
		list = append(list, k)
	}
	return list, rows.Err()
}

// BodyKeyByID returns the body key version with the given key id, as an
// envelope lists it, or ENOTFOUND.
func (db *DB) BodyKeyByID(ctx context.Context, keyID string) (*BodyKey, error) {
	var k BodyKey
	err := scanBodyKey(db.r.QueryRowContext(ctx, `SELECT `+bodyKeyColumns+` FROM body_keys k WHERE k.key_id = $1`, keyID), &k)
	if err != nil {
		return nil, notFound(err, "no body key with id %s", keyID)
	}
	return &k, nil
}

// BodyKeyWrap is one version of a body's key wrapped to one user.
type BodyKeyWrap struct {
	Body      string
	Version   int
	UserID    int64
	Recipient string // the body key version's recipient; read only
	Wrapped   []byte
	CreatedAt time.Time // set by the store
}

// BodyKeyWraps returns the wraps a user holds, of one body's keys or, if
// body is "", of every body's, ordered by body and newest version first.
// A user holding none gets none; that is not an error.
func (db *DB) BodyKeyWraps(ctx context.Context, userID int64, body string) ([]BodyKeyWrap, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT w.body, w.version, w.user_id, k.recipient, w.wrapped, w.created_at
		FROM body_key_wraps w JOIN body_keys k ON k.body = w.body AND k.version = w.version
		WHERE w.user_id = $1 AND ($2 = '' OR w.body = $2)
		ORDER BY w.body, w.version DESC`, userID, body)
	if err != nil {
		return nil, fmt.Errorf("list body key wraps: %w", err)
	}
	defer rows.Close()
	var list []BodyKeyWrap
	for rows.Next() {
		var w BodyKeyWrap
		if err := rows.Scan(&w.Body, &w.Version, &w.UserID, &w.Recipient, &w.Wrapped, &w.CreatedAt); err != nil {
			return nil, fmt.Errorf("list body key wraps: %w", err)
		}
		w.CreatedAt = w.CreatedAt.UTC()
		list = append(list, w)
	}
	return list, rows.Err()
}

// BodyKeyChange is one change to a body's keys. ChangeBodyKeys applies it
// in one transaction, in the order of the fields.
type BodyKeyChange struct {
	Body string
	// Revoke lists users whose every wrap of the body's keys is deleted.
	Revoke []int64
	// RetireCurrent retires the current key without a successor; the body
	// then has no key and cannot receive complaints until it gets one.
	RetireCurrent bool
	// NewKey, if not nil, becomes the body's current key and retires the
	// previous one. The store sets its Body, Version (one more than the
	// highest so far) and CreatedAt.
	NewKey *BodyKey
	// NewKeyWraps are NewKey wrapped to members, by user id.
	NewKeyWraps map[int64][]byte
	// Grants wrap existing versions to users.
	Grants []BodyKeyWrap
	// Audit is appended in the same transaction: at least one record.
	Audit []qorgau.AuditRecord
}

// ChangeBodyKeys applies a change to a body's keys in one transaction. An
// unknown body is EINVALID. A concurrent change to the same body's keys is
// ECONFLICT; the caller may start over.
func (db *DB) ChangeBodyKeys(ctx context.Context, ch *BodyKeyChange) error {
	if len(ch.Audit) == 0 {
		return fmt.Errorf("change body keys: a key change needs an audit record")
	}
	if ch.NewKey == nil && len(ch.NewKeyWraps) > 0 {
		return fmt.Errorf("change body keys: wraps of a new key without the key")
	}
	if k := ch.NewKey; k != nil && (k.Recipient == "" || k.KeyID == "") {
		return qorgau.Errorf(EINVALID, "a body key needs a recipient and a key id")
	}
	if _, err := db.Body(ctx, ch.Body); err != nil {
		if qorgau.ErrorCode(err) == ENOTFOUND {
			return qorgau.Errorf(EINVALID, "no recipient body with code %q", ch.Body)
		}
		return err
	}
	now := db.now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, u := range ch.Revoke {
			if _, err := tx.ExecContext(ctx, `DELETE FROM body_key_wraps WHERE body = $1 AND user_id = $2`, ch.Body, u); err != nil {
				return fmt.Errorf("revoke: %w", err)
			}
		}
		if ch.RetireCurrent || ch.NewKey != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE body_keys SET retired_at = $1 WHERE body = $2 AND retired_at IS NULL`, now, ch.Body); err != nil {
				return fmt.Errorf("retire key: %w", err)
			}
		}
		if k := ch.NewKey; k != nil {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM body_keys WHERE body = $1`, ch.Body).Scan(&k.Version); err != nil {
				return fmt.Errorf("new key version: %w", err)
			}
			k.Body, k.CreatedAt, k.RetiredAt = ch.Body, now, time.Time{}
			if _, err := tx.ExecContext(ctx, `INSERT INTO body_keys (body, version, key_id, recipient, created_at)
				VALUES ($1, $2, $3, $4, $5)`, k.Body, k.Version, k.KeyID, k.Recipient, now); err != nil {
				return fmt.Errorf("add key: %w", err)
			}
			users := make([]int64, 0, len(ch.NewKeyWraps))
			for u := range ch.NewKeyWraps {
				users = append(users, u)
			}
			slices.Sort(users) // the same statements in the same order on every run
			for _, u := range users {
				if err := insertWrap(ctx, tx, ch.Body, k.Version, u, ch.NewKeyWraps[u], now); err != nil {
					return err
				}
			}
		}
		for _, g := range ch.Grants {
			if g.Body != ch.Body {
				return fmt.Errorf("grant: a wrap of body %s in a change of %s", g.Body, ch.Body)
			}
			if err := insertWrap(ctx, tx, g.Body, g.Version, g.UserID, g.Wrapped, now); err != nil {
				return err
			}
		}
		for i := range ch.Audit {
			if err := db.appendAudit(ctx, tx, &ch.Audit[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if isUniqueViolation(err) {
		return qorgau.Errorf(ECONFLICT, "the keys of body %s changed meanwhile, or the key is already in use; try again", ch.Body)
	}
	return err
}

func insertWrap(ctx context.Context, tx *sql.Tx, body string, version int, userID int64, wrapped []byte, now time.Time) error {
	if len(wrapped) == 0 {
		return fmt.Errorf("wrap of key %d of %s to user %d is empty", version, body, userID)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO body_key_wraps (body, version, user_id, wrapped, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (body, version, user_id) DO UPDATE SET wrapped = excluded.wrapped, created_at = excluded.created_at`,
		body, version, userID, wrapped, now)
	if isForeignKeyViolation(err) {
		return qorgau.Errorf(EINVALID, "no key %d of body %s, or no user %d", version, body, userID)
	} else if err != nil {
		return fmt.Errorf("wrap key %d of %s to user %d: %w", version, body, userID, err)
	}
	return nil
}

// isForeignKeyViolation reports whether err is a foreign key violation.
//
