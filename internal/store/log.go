package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The complaint log's storage (see internal/tlog for what it means). Four
// tables: log_leaves holds the leaves in order, log_hashes the Merkle tree's
// stored hashes keyed by tlog.StoredHashIndex, log_checkpoints one signed
// checkpoint per committed batch, and log_objects the objects the leaves
// commit to, with their salts, which Erase can remove without touching the
// tree. The first three are append-only: triggers refuse updates and
// deletes.

// LogLeaf is one leaf of the complaint log together with its off-log object.
type LogLeaf struct {
	Index         int64
	Kind          string
	Entry         []byte // the leaf's data: its hash is the Merkle tree leaf
	IdempotencyID string
	Salt          []byte // nil once erased
	Object        []byte // nil once erased
}

// LogHash is one stored hash of the log's Merkle tree.
type LogHash struct {
	ID   int64 // tlog.StoredHashIndex of the node
	Hash [32]byte
}

// LogCheckpoint is a signed checkpoint of the log.
type LogCheckpoint struct {
	Size int64
	Root [32]byte
	Note []byte // the signed note
	At   time.Time
}

// logChunks are the row counts of the INSERT statements that write a log
// batch: a batch is cut greedily into chunks of these sizes, so that a
// handful of statements, each prepared once, serve every batch size.
// Parsing a statement of a thousand placeholders costs SQLite more than
// running it; preparing them once is what makes large batches cheap. The
// largest stays well under both engines' parameter limits (SQLite 32,766,
// PostgreSQL 65,535).
var logChunks = []int{1024, 256, 64, 16, 4, 1}

// A LogAppender appends batches to the complaint log with statements it
// prepares once. It is for the log's one sequencer; Close it when done.
type LogAppender struct {
	db    *DB
	stmts map[string]*sql.Stmt
}

// NewLogAppender returns an appender for the log in db.
func (db *DB) NewLogAppender() *LogAppender {
	return &LogAppender{db: db, stmts: make(map[string]*sql.Stmt)}
}

// Close releases the appender's prepared statements.
func (a *LogAppender) Close() error {
	var err error
	for k, s := range a.stmts {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		delete(a.stmts, k)
	}
	return err
}

// AppendLogBatch appends one batch with a LogAppender used once; see
// LogAppender.Append.
func (db *DB) AppendLogBatch(ctx context.Context, prevSize int64, leaves []LogLeaf, hashes []LogHash, cp LogCheckpoint) error {
	a := db.NewLogAppender()
	defer a.Close()
	return a.Append(ctx, prevSize, leaves, hashes, cp)
}

// Append appends a batch of leaves, the stored hashes they create and the
// checkpoint that covers them, all in one transaction. prevSize is the
// size of the latest checkpoint the caller knows; if the database's latest
// checkpoint has another size, as when a second sequencer wrote to the same
// database, nothing is written and the error has code ECONFLICT. A leaf
// index, idempotency id, stored hash or checkpoint size that already exists
// is also an ECONFLICT error.
func (a *LogAppender) Append(ctx context.Context, prevSize int64, leaves []LogLeaf, hashes []LogHash, cp LogCheckpoint) error {
	db := a.db
	at := cp.At.UTC().Truncate(time.Microsecond)
	// Prepare every statement before the transaction: on SQLite the write
	// pool has one connection, which the transaction holds, so preparing
	// on the pool inside it would wait for itself forever.
	if err := a.prepare(ctx); err != nil {
		return fmt.Errorf("append log batch at size %d: %w", prevSize, err)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var size sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(size) FROM log_checkpoints`).Scan(&size); err != nil {
			return err
		}
		if !size.Valid && prevSize != 0 || size.Valid && size.Int64 != prevSize {
			return qorgauErrorf(ECONFLICT, "the log in the database has moved on from size %d to %d: is a second sequencer running?", prevSize, size.Int64)
		}
		err := a.insert(ctx, tx, `log_leaves (idx, kind, entry, idem, created_at)`, 5, len(leaves), func(args []any, i int) []any {
			l := &leaves[i]
			return append(args, l.Index, l.Kind, l.Entry, l.IdempotencyID, at)
		})
		if err != nil {
			return err
		}
		err = a.insert(ctx, tx, `log_objects (idx, salt, object)`, 3, len(leaves), func(args []any, i int) []any {
			l := &leaves[i]
			return append(args, l.Index, l.Salt, l.Object)
		})
		if err != nil {
			return err
		}
		err = a.insert(ctx, tx, `log_hashes (id, hash)`, 2, len(hashes), func(args []any, i int) []any {
			return append(args, hashes[i].ID, hashes[i].Hash[:])
		})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)`,
			cp.Size, cp.Root[:], string(cp.Note), at)
		return err
	})
	if isUniqueViolation(err) {
		return qorgauErrorf(ECONFLICT, "log batch at size %d conflicts with what the database holds: is a second sequencer running?", prevSize)
	}
	if err != nil {
		return fmt.Errorf("append log batch at size %d: %w", prevSize, err)
	}
	return nil
}

// insert writes n rows into table (with its column list) in chunks of the
// logChunks sizes. row appends the ncols values of row i to args.
func (a *LogAppender) insert(ctx context.Context, tx *sql.Tx, table string, ncols, n int, row func(args []any, i int) []any) error {
	args := make([]any, 0, ncols*min(n, logChunks[0]))
	for i := 0; i < n; {
		k := 1
		for _, c := range logChunks {
			if c <= n-i {
				k = c
				break
			}
		}
		stmt, err := a.stmt(ctx, table, ncols, k)
		if err != nil {
			return err
		}
		args = args[:0]
		for j := i; j < i+k; j++ {
			args = row(args, j)
		}
		if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
			return err
		}
		i += k
	}
	return nil
}

// logTables are the tables a batch writes through prepared statements,
// with their column counts.
var logTables = []struct {
	table string
	ncols int
}{
	{`log_leaves (idx, kind, entry, idem, created_at)`, 5},
	{`log_objects (idx, salt, object)`, 3},
	{`log_hashes (id, hash)`, 2},
}

// prepare makes sure every statement a batch may use is prepared.
func (a *LogAppender) prepare(ctx context.Context) error {
	for _, t := range logTables {
		for _, k := range logChunks {
			if _, err := a.stmt(ctx, t.table, t.ncols, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// stmt returns the prepared multi-row INSERT of k rows into table.
func (a *LogAppender) stmt(ctx context.Context, table string, ncols, k int) (*sql.Stmt, error) {
	key := table + "/" + strconv.Itoa(k)
	if s, ok := a.stmts[key]; ok {
		return s, nil
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(table)
	sb.WriteString(" VALUES ")
	a.db.placeholders(&sb, k, ncols)
	s, err := a.db.w.PrepareContext(ctx, sb.String())
	if err != nil {
		return nil, err
	}
	a.stmts[key] = s
	return s, nil
}

// logQueryIDs is how many ids one look-up query carries.
const logQueryIDs = 1000

// placeholders writes n parenthesised groups of ncols placeholders: "?"
// on SQLite, which finds each "$N" by a linear search over the statement's
// parameters (see save), and "$1, $2, …" on PostgreSQL, which accepts only
// those.
func (db *DB) placeholders(sb *strings.Builder, n, ncols int) {
	anonymous := db.dialect.name == "sqlite"
	k := 1
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j := 0; j < ncols; j++ {
			if j > 0 {
				sb.WriteString(", ")
			}
			if anonymous {
				sb.WriteByte('?')
			} else {
				fmt.Fprintf(sb, "$%d", k)
			}
			k++
		}
		sb.WriteByte(')')
	}
}

const logLeafColumns = `l.idx, l.kind, l.entry, l.idem, o.salt, o.object`

func scanLogLeaf(s interface{ Scan(...any) error }, l *LogLeaf) error {
	return s.Scan(&l.Index, &l.Kind, &l.Entry, &l.IdempotencyID, &l.Salt, &l.Object)
}

// LogLeavesByIdempotencyID returns the leaves, with their objects, whose
// idempotency ids are among ids, in no particular order. Ids not in the log
// are left out.
func (db *DB) LogLeavesByIdempotencyID(ctx context.Context, ids []string) ([]LogLeaf, error) {
	var list []LogLeaf
	for start := 0; start < len(ids); start += logQueryIDs {
		batch := ids[start:min(start+logQueryIDs, len(ids))]
		var sb strings.Builder
		sb.WriteString(`SELECT ` + logLeafColumns + ` FROM log_leaves l JOIN log_objects o ON o.idx = l.idx WHERE l.idem IN `)
		db.placeholders(&sb, 1, len(batch))
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := db.r.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("look up log idempotency ids: %w", err)
		}
		for rows.Next() {
			var l LogLeaf
			if err := scanLogLeaf(rows, &l); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up log idempotency ids: %w", err)
			}
			list = append(list, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up log idempotency ids: %w", err)
		}
	}
	return list, nil
}

// LogLeaf returns the leaf at index with its object, or an ENOTFOUND error.
func (db *DB) LogLeaf(ctx context.Context, index int64) (*LogLeaf, error) {
	var l LogLeaf
	err := scanLogLeaf(db.r.QueryRowContext(ctx, `SELECT `+logLeafColumns+`
		FROM log_leaves l JOIN log_objects o ON o.idx = l.idx WHERE l.idx = $1`, index), &l)
	if err != nil {
		return nil, notFound(err, "log entry %d not found", index)
	}
	return &l, nil
}

// LogHashes returns the stored hashes with the given ids, in the order of
// ids. A missing hash is an ENOTFOUND error.
func (db *DB) LogHashes(ctx context.Context, ids []int64) ([][32]byte, error) {
	out := make([][32]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pos := make(map[int64][]int, len(ids))
	for i, id := range ids {
		pos[id] = append(pos[id], i)
	}
	found := 0
	for start := 0; start < len(ids); start += logQueryIDs {
		batch := ids[start:min(start+logQueryIDs, len(ids))]
		var sb strings.Builder
		sb.WriteString(`SELECT id, hash FROM log_hashes WHERE id IN `)
		db.placeholders(&sb, 1, len(batch))
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := db.r.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("read log hashes: %w", err)
		}
		for rows.Next() {
			var id int64
			var h []byte
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read log hashes: %w", err)
			}
			if len(h) != 32 {
				rows.Close()
				return nil, fmt.Errorf("read log hashes: stored hash %d is %d bytes, want 32", id, len(h))
			}
			for _, i := range pos[id] {
				out[i] = [32]byte(h)
				found++
			}
			delete(pos, id) // a repeated id in a later batch is already filled
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read log hashes: %w", err)
		}
	}
	if found != len(ids) {
		for id := range pos {
			return nil, qorgauErrorf(ENOTFOUND, "log hash %d not found", id)
		}
	}
	return out, nil
}

// LogEntries returns the data of the n leaves from start on. Fewer than n
// leaves is an ENOTFOUND error.
func (db *DB) LogEntries(ctx context.Context, start, n int64) ([][]byte, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT idx, entry FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx`, start, start+n)
	if err != nil {
		return nil, fmt.Errorf("read log entries: %w", err)
	}
	defer rows.Close()
	list := make([][]byte, 0, n)
	for rows.Next() {
		var idx int64
		var e []byte
		if err := rows.Scan(&idx, &e); err != nil {
			return nil, fmt.Errorf("read log entries: %w", err)
		}
		if idx != start+int64(len(list)) {
			return nil, qorgauErrorf(ENOTFOUND, "log entry %d not found", start+int64(len(list)))
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log entries: %w", err)
	}
	if int64(len(list)) != n {
		return nil, qorgauErrorf(ENOTFOUND, "log entry %d not found", start+int64(len(list)))
	}
	return list, nil
}

// LatestLogCheckpoint returns the checkpoint of the largest size, or an
// ENOTFOUND error if the log has none yet.
func (db *DB) LatestLogCheckpoint(ctx context.Context) (*LogCheckpoint, error) {
	var cp LogCheckpoint
	var root []byte
	var text string
	err := db.r.QueryRowContext(ctx, `SELECT size, root, note, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1`).
		Scan(&cp.Size, &root, &text, &cp.At)
	if err != nil {
		return nil, notFound(err, "the log has no checkpoint")
	}
	if len(root) != 32 {
		return nil, fmt.Errorf("read log checkpoint %d: root is %d bytes, want 32", cp.Size, len(root))
	}
	cp.Root, cp.Note, cp.At = [32]byte(root), []byte(text), cp.At.UTC()
	return &cp, nil
}

// LogCounts returns how many leaves, stored hashes and checkpoints the log
// tables hold.
func (db *DB) LogCounts(ctx context.Context) (leaves, hashes, checkpoints int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM log_leaves), (SELECT COUNT(*) FROM log_hashes), (SELECT COUNT(*) FROM log_checkpoints)`).
		Scan(&leaves, &hashes, &checkpoints)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count log rows: %w", err)
	}
	return leaves, hashes, checkpoints, nil
}

// ScanLogEntries calls fn with every leaf's index, kind and data in index
// order, from one read snapshot. fn must not keep entry after it returns.
// An error from fn stops the scan and is returned.
func (db *DB) ScanLogEntries(ctx context.Context, fn func(index int64, kind string, entry []byte) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT idx, kind, entry FROM log_leaves ORDER BY idx`)
	if err != nil {
		return fmt.Errorf("read log entries: %w", err)
	}
	defer rows.Close()
	var idx int64
	var kind string
	var entry sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&idx, &kind, &entry); err != nil {
			return fmt.Errorf("read log entries: %w", err)
		}
		if err := fn(idx, kind, entry); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read log entries: %w", err)
	}
	return nil
}

// ScanLogHashes calls fn with every stored hash in id order. fn must not
// keep hash after it returns. An error from fn stops the scan and is
// returned.
func (db *DB) ScanLogHashes(ctx context.Context, fn func(id int64, hash []byte) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT id, hash FROM log_hashes ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read log hashes: %w", err)
	}
	defer rows.Close()
	var id int64
	var h sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &h); err != nil {
			return fmt.Errorf("read log hashes: %w", err)
		}
		if err := fn(id, h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read log hashes: %w", err)
	}
	return nil
}

// ScanLogCheckpoints calls fn with every checkpoint in size order. An error
// from fn stops the scan and is returned.
func (db *DB) ScanLogCheckpoints(ctx context.Context, fn func(cp LogCheckpoint) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT size, root, note, created_at FROM log_checkpoints ORDER BY size`)
	if err != nil {
		return fmt.Errorf("read log checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cp LogCheckpoint
		var root []byte
		var text string
		if err := rows.Scan(&cp.Size, &root, &text, &cp.At); err != nil {
			return fmt.Errorf("read log checkpoints: %w", err)
		}
		if len(root) != 32 {
			return fmt.Errorf("read log checkpoint %d: root is %d bytes, want 32", cp.Size, len(root))
		}
		cp.Root, cp.Note, cp.At = [32]byte(root), []byte(text), cp.At.UTC()
		if err := fn(cp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read log checkpoints: %w", err)
	}
	return nil
}

// EraseLogObject removes the object and salt of the leaf at index, leaving
// the leaf and the tree as they are. Erasing twice is not an error; an
// index with no leaf is an ENOTFOUND error.
func (db *DB) EraseLogObject(ctx context.Context, index int64) error {
	res, err := db.w.ExecContext(ctx, `UPDATE log_objects SET salt = NULL, object = NULL,
		erased_at = COALESCE(erased_at, $2) WHERE idx = $1`, index, db.now())
	if err != nil {
		return fmt.Errorf("erase log object %d: %w", index, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("erase log object %d: %w", index, err)
	} else if n == 0 {
		return qorgauErrorf(ENOTFOUND, "log entry %d not found", index)
	}
	return nil
}
