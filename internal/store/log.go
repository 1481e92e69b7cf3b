package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"qorgau.kz/qorgau"
)

// The complaint log's storage (see internal/tlog for what it means). Three
// tables: log_leaves holds the leaves in order, each with the object it
// commits to and its salt, which EraseLogObject can remove without touching
// the tree; log_hash_runs the Merkle tree's stored hashes, keyed by
// tlog.StoredHashIndex, in runs of consecutive ones (one row per batch, or
// per logHashRun hashes); log_checkpoints one signed checkpoint per
// committed batch. All three are append-only: triggers refuse deletes and
// updates, except the update that erases an object.
//
// A batch is one transaction, with a row per leaf and only a few more: the
// cost of an append is mostly the cost of a row. On SQLite it is a few
// multi-row INSERTs with "?" placeholders, prepared once (see logChunks);
// on PostgreSQL it is one statement whose rows travel as arrays, so one
// round trip and one commit.
// Look-ups by a list of keys use one statement text for every length: a
// JSON array through json_each on SQLite, an array with = ANY on
// PostgreSQL.

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

// logHashRun is the most stored hashes one row of log_hash_runs holds, so
// that reading one hash never loads more than 8 KiB.
const logHashRun = 256

// A hashRun is a row of log_hash_runs: the stored hashes from first on.
type hashRun struct {
	first  int64
	hashes []byte
}

// hashRuns cuts hashes into runs of consecutive ids of at most logHashRun
// hashes.
func hashRuns(hashes []LogHash) []hashRun {
	var runs []hashRun
	for i := 0; i < len(hashes); {
		j := i + 1
		for j < len(hashes) && j-i < logHashRun && hashes[j].ID == hashes[j-1].ID+1 {
			j++
		}
		b := make([]byte, 0, 32*(j-i))
		for _, h := range hashes[i:j] {
			b = append(b, h.Hash[:]...)
		}
		runs = append(runs, hashRun{first: hashes[i].ID, hashes: b})
		i = j
	}
	return runs
}

// logChunks are the row counts of the INSERT statements that write a log
// batch on SQLite: a batch is cut greedily into chunks of these sizes, so that a
// handful of statements, each prepared once, serve every batch size.
// Parsing a statement of a thousand placeholders costs SQLite more than
// running it; preparing them once is what makes large batches cheap. The
// largest stays well under SQLite's limit of 32,766 parameters.
var logChunks = []int{1024, 256, 64, 16, 4, 1}

// A LogAppender appends batches to the complaint log, keeping the
// statements it prepares (on SQLite) for the next batch. It is for the
// log's one sequencer, and not safe for concurrent use; Close it when done.
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
func (db *DB) AppendLogBatch(ctx context.Context, prevSize int64, at time.Time, leaves []LogLeaf, hashes []LogHash, cp *LogCheckpoint) error {
	a := db.NewLogAppender()
	defer a.Close()
	return a.Append(ctx, prevSize, at, leaves, hashes, cp)
}

// Append appends, atomically, a batch of leaves created at at, the stored
// hashes they create, and cp, if not nil: the checkpoint of the log before
// the batch (size prevSize). A checkpoint is signed only after the leaves
// it covers have committed, so it travels with the next batch, or alone
// (no leaves). prevSize is the number of leaves the caller knows; if the
// database holds another number, as when a second sequencer wrote to the
// same database, nothing is written and the error has code ECONFLICT. A
// leaf index, idempotency id, stored hash or checkpoint size that already
// exists is also an ECONFLICT error.
func (a *LogAppender) Append(ctx context.Context, prevSize int64, at time.Time, leaves []LogLeaf, hashes []LogHash, cp *LogCheckpoint) error {
	if cp != nil && cp.Size != prevSize {
		return fmt.Errorf("append log batch at size %d: the checkpoint is of size %d", prevSize, cp.Size)
	}
	var err error
	if a.db.dialect.name == "postgres" {
		err = a.appendPostgres(ctx, prevSize, at, leaves, hashes, cp)
	} else {
		err = a.appendSQLite(ctx, prevSize, at, leaves, hashes, cp)
	}
	switch {
	case err == errLogMovedOn:
		return qorgauErrorf(ECONFLICT, "the log in the database is no longer at size %d: is a second sequencer running?", prevSize)
	case isUniqueViolation(err):
		return qorgauErrorf(ECONFLICT, "log batch at size %d conflicts with what the database holds: is a second sequencer running?", prevSize)
	case err != nil:
		return fmt.Errorf("append log batch at size %d: %w", prevSize, err)
	}
	return nil
}

var errLogMovedOn = errors.New("the log moved on")

// appendSQLite writes a batch in one transaction of multi-row INSERTs,
// each prepared once.
func (a *LogAppender) appendSQLite(ctx context.Context, prevSize int64, at time.Time, leaves []LogLeaf, hashes []LogHash, cp *LogCheckpoint) error {
	at = at.UTC().Truncate(time.Microsecond)
	runs := hashRuns(hashes)
	// Prepare the statements before the transaction: the write pool has
	// one connection, which the transaction holds, so preparing on the
	// pool inside it would wait for itself forever.
	for _, t := range []struct {
		table string
		ncols int
		n     int
	}{{logLeavesTable, 7, len(leaves)}, {logHashRunsTable, 2, len(runs)}} {
		for n := t.n; n > 0; {
			k := chunk(n)
			if _, err := a.stmt(ctx, t.table, t.ncols, k); err != nil {
				return err
			}
			n -= k
		}
	}
	sizeNow, err := a.prepare(ctx, "size", `SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves`)
	if err != nil {
		return err
	}
	checkpoint, err := a.prepare(ctx, "checkpoint", `INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)`)
	if err != nil {
		return err
	}
	return a.db.inTx(ctx, func(tx *sql.Tx) error {
		var size int64
		if err := tx.StmtContext(ctx, sizeNow).QueryRowContext(ctx).Scan(&size); err != nil {
			return err
		}
		if size != prevSize {
			return errLogMovedOn
		}
		err := a.insert(ctx, tx, logLeavesTable, 7, len(leaves), func(args []any, i int) []any {
			l := &leaves[i]
			return append(args, l.Index, l.Kind, l.Entry, l.IdempotencyID, at, l.Salt, l.Object)
		})
		if err != nil {
			return err
		}
		err = a.insert(ctx, tx, logHashRunsTable, 2, len(runs), func(args []any, i int) []any {
			return append(args, runs[i].first, runs[i].hashes)
		})
		if err != nil {
			return err
		}
		if cp == nil {
			return nil
		}
		_, err = tx.StmtContext(ctx, checkpoint).ExecContext(ctx, cp.Size, cp.Root[:], string(cp.Note), cp.At.UTC().Truncate(time.Microsecond))
		return err
	})
}

// appendPostgresSQL writes a whole batch in one statement, hence one round
// trip and one commit: the rows travel as arrays. Data-modifying WITH
// clauses all run, so the size check cannot skip them; instead a failed
// check makes every leaf's index and the checkpoint's root NULL, which
// the NOT NULL constraints turn into an error that undoes the whole
// statement. The checkpoint ($11, …) is optional: no row when $11 is NULL.
const appendPostgresSQL = `WITH guard AS (
	SELECT COALESCE(MAX(idx) + 1, 0) = $1 AS ok FROM log_leaves
), leaves AS (
	INSERT INTO log_leaves (idx, kind, entry, idem, created_at, salt, object)
	SELECT CASE WHEN guard.ok THEN t.idx END, t.kind, t.entry, t.idem, $2, t.salt, t.object
	FROM guard, unnest($3::bigint[], $4::text[], $5::bytea[], $6::text[], $7::bytea[], $8::bytea[]) AS t (idx, kind, entry, idem, salt, object)
), hashes AS (
	INSERT INTO log_hash_runs (first_id, hashes)
	SELECT t.first_id, t.hashes FROM unnest($9::bigint[], $10::bytea[]) AS t (first_id, hashes)
)
INSERT INTO log_checkpoints (size, root, note, created_at)
SELECT $11, CASE WHEN guard.ok THEN $12::bytea END, $13, $14 FROM guard WHERE $11::bigint IS NOT NULL`

func (a *LogAppender) appendPostgres(ctx context.Context, prevSize int64, at time.Time, leaves []LogLeaf, hashes []LogHash, cp *LogCheckpoint) error {
	idx := make([]int64, len(leaves))
	kinds := make([]string, len(leaves))
	entries := make([][]byte, len(leaves))
	idems := make([]string, len(leaves))
	salts := make([][]byte, len(leaves))
	objects := make([][]byte, len(leaves))
	for i, l := range leaves {
		idx[i], kinds[i], entries[i], idems[i], salts[i], objects[i] = l.Index, l.Kind, l.Entry, l.IdempotencyID, l.Salt, l.Object
	}
	runs := hashRuns(hashes)
	ids := make([]int64, len(runs))
	hs := make([][]byte, len(runs))
	for i, r := range runs {
		ids[i], hs[i] = r.first, r.hashes
	}
	var cpSize, cpRoot, cpNote, cpAt any
	if cp != nil {
		cpSize, cpRoot, cpNote, cpAt = cp.Size, cp.Root[:], string(cp.Note), cp.At.UTC().Truncate(time.Microsecond)
	}
	_, err := a.db.logw.ExecContext(ctx, appendPostgresSQL, prevSize, at.UTC().Truncate(time.Microsecond),
		idx, kinds, entries, idems, salts, objects, ids, hs, cpSize, cpRoot, cpNote, cpAt)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23502" && (pe.ColumnName == "root" || pe.ColumnName == "idx") {
		return errLogMovedOn
	}
	return err
}

const (
	logLeavesTable   = `log_leaves (idx, kind, entry, idem, created_at, salt, object)`
	logHashRunsTable = `log_hash_runs (first_id, hashes)`
)

// chunk returns the size of the next chunk of n rows still to write.
func chunk(n int) int {
	for _, c := range logChunks {
		if c <= n {
			return c
		}
	}
	return 1
}

// insert writes n rows into table (with its column list) in chunks of the
// logChunks sizes, with statements prepared by stmt. row appends the ncols
// values of row i to args.
func (a *LogAppender) insert(ctx context.Context, tx *sql.Tx, table string, ncols, n int, row func(args []any, i int) []any) error {
	args := make([]any, 0, ncols*min(n, logChunks[0]))
	for i := 0; i < n; {
		k := chunk(n - i)
		stmt, ok := a.stmts[table+"/"+strconv.Itoa(k)]
		if !ok {
			return fmt.Errorf("insert into %s: %d-row statement not prepared", table, k)
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
	return a.prepare(ctx, key, sb.String())
}

// prepare returns the statement prepared under key, preparing query if
// there is none yet. Preparing outside the batch's transaction matters
// (see appendSQLite); preparing once saves SQLite parsing the same text
// for every batch, which at one entry a batch is a good part of its CPU.
func (a *LogAppender) prepare(ctx context.Context, key, query string) (*sql.Stmt, error) {
	if s, ok := a.stmts[key]; ok {
		return s, nil
	}
	s, err := a.db.w.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	a.stmts[key] = s
	return s, nil
}

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

const logLeafColumns = `idx, kind, entry, idem, salt, object`

func scanLogLeaf(s interface{ Scan(...any) error }, l *LogLeaf) error {
	return s.Scan(&l.Index, &l.Kind, &l.Entry, &l.IdempotencyID, &l.Salt, &l.Object)
}

// LogLeavesByIdempotencyID returns the leaves, with their objects, whose
// idempotency ids are among ids, in no particular order. Ids not in the log
// are left out.
func (db *DB) LogLeavesByIdempotencyID(ctx context.Context, ids []string) ([]LogLeaf, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, arg := db.inList("idem", ids)
	rows, err := db.r.QueryContext(ctx, `SELECT `+logLeafColumns+` FROM log_leaves WHERE `+in, arg)
	if err != nil {
		return nil, fmt.Errorf("look up log idempotency ids: %w", err)
	}
	defer rows.Close()
	var list []LogLeaf
	for rows.Next() {
		var l LogLeaf
		if err := scanLogLeaf(rows, &l); err != nil {
			return nil, fmt.Errorf("look up log idempotency ids: %w", err)
		}
		list = append(list, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up log idempotency ids: %w", err)
	}
	return list, nil
}

// inList returns the condition "col is one of list" and its one argument,
// so that one statement text serves lists of every length (and is parsed
// once): a JSON array read with json_each on SQLite, an array on
// PostgreSQL.
func (db *DB) inList(col string, list any) (string, any) {
	if db.dialect.name == "postgres" {
		return col + ` = ANY($1)`, list
	}
	return col + ` IN (SELECT value FROM json_each($1))`, db.listArg(list)
}

// listArg returns list as one argument: an array on PostgreSQL, a JSON
// array on SQLite (for json_each).
func (db *DB) listArg(list any) any {
	if db.dialect.name == "postgres" {
		return list
	}
	b, _ := json.Marshal(list) // strings and integers
	return string(b)
}

// LogLeaf returns the leaf at index with its object, or an ENOTFOUND error.
func (db *DB) LogLeaf(ctx context.Context, index int64) (*LogLeaf, error) {
	var l LogLeaf
	err := scanLogLeaf(db.r.QueryRowContext(ctx, `SELECT `+logLeafColumns+` FROM log_leaves WHERE idx = $1`, index), &l)
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
	// The runs holding ids, each read once: the run of id is the one with
	// the largest first id not above it.
	q := `SELECT first_id, hashes FROM log_hash_runs WHERE first_id IN (
		SELECT (SELECT MAX(first_id) FROM log_hash_runs WHERE first_id <= j.value) FROM json_each($1) j)`
	if db.dialect.name == "postgres" {
		q = `SELECT first_id, hashes FROM log_hash_runs WHERE first_id IN (
			SELECT (SELECT MAX(first_id) FROM log_hash_runs WHERE first_id <= j.id) FROM unnest($1::bigint[]) AS j (id))`
	}
	rows, err := db.r.QueryContext(ctx, q, db.listArg(ids))
	if err != nil {
		return nil, fmt.Errorf("read log hashes: %w", err)
	}
	defer rows.Close()
	var runs []hashRun
	for rows.Next() {
		var r hashRun
		if err := rows.Scan(&r.first, &r.hashes); err != nil {
			return nil, fmt.Errorf("read log hashes: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log hashes: %w", err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].first < runs[j].first })
	for i, id := range ids {
		k := sort.Search(len(runs), func(k int) bool { return runs[k].first > id }) - 1
		if k < 0 {
			return nil, qorgauErrorf(ENOTFOUND, "log hash %d not found", id)
		}
		r := &runs[k]
		off := 32 * (id - r.first)
		if off+32 > int64(len(r.hashes)) {
			if len(r.hashes)%32 != 0 {
				return nil, fmt.Errorf("read log hashes: the run from %d is %d bytes, not a multiple of 32", r.first, len(r.hashes))
			}
			return nil, qorgauErrorf(ENOTFOUND, "log hash %d not found", id)
		}
		out[i] = [32]byte(r.hashes[off : off+32])
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

// LogSize returns how many leaves the log holds, and how many batches
// (distinct creation times) the leaves from index from on came in: the
// leaves beyond the latest checkpoint are at most one batch, whose
// checkpoint had not yet committed.
func (db *DB) LogSize(ctx context.Context, from int64) (size, batches int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves),
		(SELECT COUNT(DISTINCT created_at) FROM log_leaves WHERE idx >= $1)`, from).Scan(&size, &batches)
	if err != nil {
		return 0, 0, fmt.Errorf("read log size: %w", err)
	}
	return size, batches, nil
}

// LogCounts returns how many leaves, stored hashes and checkpoints the log
// tables hold.
func (db *DB) LogCounts(ctx context.Context) (leaves, hashes, checkpoints int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM log_leaves), (SELECT COALESCE(SUM(length(hashes)), 0) / 32 FROM log_hash_runs), (SELECT COUNT(*) FROM log_checkpoints)`).
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

// ScanLogIdempotencyIDs calls fn with the idempotency id of every leaf
// from index from on, in no particular order. An error from fn stops the
// scan and is returned.
func (db *DB) ScanLogIdempotencyIDs(ctx context.Context, from int64, fn func(id string) error) error {
	// From the start, the unique index on idem holds every id and nothing
	// else: reading it is cheaper than reading the leaves.
	q, args := `SELECT idem FROM log_leaves`, []any(nil)
	if from > 0 {
		q, args = q+` WHERE idx >= $1`, []any{from}
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read log idempotency ids: %w", err)
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("read log idempotency ids: %w", err)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read log idempotency ids: %w", err)
	}
	return nil
}

// ScanLogHashes calls fn with every stored hash in id order (a run whose
// length is not a multiple of 32 bytes ends with a shorter hash). fn must
// not keep hash after it returns. An error from fn stops the scan and is
// returned.
func (db *DB) ScanLogHashes(ctx context.Context, fn func(id int64, hash []byte) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT first_id, hashes FROM log_hash_runs ORDER BY first_id`)
	if err != nil {
		return fmt.Errorf("read log hashes: %w", err)
	}
	defer rows.Close()
	var id int64
	var hs sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &hs); err != nil {
			return fmt.Errorf("read log hashes: %w", err)
		}
		for ; len(hs) > 0; id++ {
			n := min(32, len(hs))
			if err := fn(id, hs[:n]); err != nil {
				return err
			}
			hs = hs[n:]
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

// EraseLogObject removes the object and salt of the leaf at index,
// leaving the leaf and the tree as they are, and appends audit, if not
// nil, to the audit log in the same transaction. When the leaf is a
// complaint's, the copies of its content kept beside the log go in the
// same transaction: the copies re-encrypted for the bodies it was
// redirected to are deleted, and the ciphertext of the bodies' answers is
// emptied (the answers' rows, times and log indexes stay, as the history
// does). An index with no leaf is an ENOTFOUND error; a leaf already
// erased is an ECONFLICT error, and nothing is written.
func (db *DB) EraseLogObject(ctx context.Context, index int64, audit *qorgau.AuditRecord) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var erased bool
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT salt IS NULL, kind FROM log_leaves WHERE idx = $1`, index).Scan(&erased, &kind)
		if err != nil {
			return notFound(err, "log entry %d not found", index)
		}
		if erased {
			return qorgauErrorf(ECONFLICT, "log entry %d is already erased", index)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE log_leaves SET salt = NULL, object = NULL, erased_at = $2 WHERE idx = $1`, index, db.now()); err != nil {
			return err
		}
		// A complaint's id is the index of its leaf (complaints.KindComplaint).
		if kind == "complaint" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM complaint_copies WHERE complaint = $1`, index); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE complaint_replies SET ciphertext = $2 WHERE complaint = $1`, index, []byte{}); err != nil {
				return err
			}
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil && qorgau.ErrorCode(err) == "" {
		return fmt.Errorf("erase log object %d: %w", index, err)
	}
	return err
}
