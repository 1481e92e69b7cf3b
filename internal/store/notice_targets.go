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
