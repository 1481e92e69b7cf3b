package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
)

// AppendAudit appends rec to the audit log in its own transaction, filling
// in Seq, At (if zero), PrevHash and Hash.
func (db *DB) AppendAudit(ctx context.Context, rec *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.appendAudit(ctx, tx, rec) })
}

// appendAudit appends rec inside tx. Bumping audit_head first takes the row
// lock that orders concurrent appenders on PostgreSQL; SQLite has one writer.
func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, rec *qorgau.AuditRecord) error {
	if rec.At.IsZero() {
		rec.At = db.now()
	}
	rec.At = rec.At.UTC().Truncate(time.Microsecond)
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).
		Scan(&rec.Seq, &rec.PrevHash); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	rec.Hash = rec.ComputeHash()
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, rec.Hash); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, target, detail, addr, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		rec.Seq, rec.At, rec.Actor, rec.Action, rec.Target, rec.Detail, rec.Addr, rec.PrevHash, rec.Hash); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

const auditColumns = `seq, at, actor, action, target, detail, addr, prev_hash, hash`

func scanAudit(s interface{ Scan(...any) error }, r *qorgau.AuditRecord) error {
	if err := s.Scan(&r.Seq, &r.At, &r.Actor, &r.Action, &r.Target, &r.Detail, &r.Addr, &r.PrevHash, &r.Hash); err != nil {
		return err
	}
	r.At = r.At.UTC()
	return nil
}

// AuditRecords returns the records selected by f, newest first.
func (db *DB) AuditRecords(ctx context.Context, f qorgau.AuditFilter) ([]qorgau.AuditRecord, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	before := f.Before
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE seq < $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR action = $3)
		ORDER BY seq DESC LIMIT $4`, before, f.Actor, f.Action, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var list []qorgau.AuditRecord
	for rows.Next() {
		var r qorgau.AuditRecord
		if err := scanAudit(rows, &r); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// AuditBreak describes the first place where the audit chain does not hold.
type AuditBreak struct {
	Seq    int64 // the first record that fails, or the head's seq
	Reason string
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit chain broken at record %d: %s", b.Seq, b.Reason)
}

// VerifyAudit walks the whole audit log in order and checks that sequence
// numbers have no gaps, that each record names its predecessor's hash, that
// each hash matches the record's content, and that the chain ends at the
// stored head. It returns how many records it checked and, if the chain is
// broken, an *AuditBreak naming the first bad record. progress, if not nil,
// is called with the count checked so far.
func (db *DB) VerifyAudit(ctx context.Context, progress func(checked int64)) (int64, error) {
	var headSeq int64
	var headHash string
	if err := db.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return 0, fmt.Errorf("read audit head: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	prev := qorgau.GenesisHash
	var n int64
	for rows.Next() {
		var r qorgau.AuditRecord
		if err := scanAudit(rows, &r); err != nil {
			return n, fmt.Errorf("read audit log: %w", err)
		}
		want := n + 1
		switch {
		case r.Seq != want:
			return n, &AuditBreak{Seq: want, Reason: fmt.Sprintf("record %d is missing (next present is %d)", want, r.Seq)}
		case r.PrevHash != prev:
			return n, &AuditBreak{Seq: r.Seq, Reason: "it does not point at the hash of the record before it"}
		case r.ComputeHash() != r.Hash:
			return n, &AuditBreak{Seq: r.Seq, Reason: fmt.Sprintf("its content does not match its hash (%s %s by %s at %s)",
				r.Action, r.Target, r.Actor, r.At.Format("2006-01-02 15:04:05Z"))}
		}
		prev = r.Hash
		n++
		if progress != nil && n%1000 == 0 {
			progress(n)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read audit log: %w", err)
	}
	if n != headSeq || prev != headHash {
		return n, &AuditBreak{Seq: n + 1, Reason: fmt.Sprintf("the log ends at record %d but the head says %d: records were removed from the end", n, headSeq)}
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}
