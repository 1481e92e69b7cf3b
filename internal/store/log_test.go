package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

// logBatch returns n leaves from first on, two made-up hashes per leaf and
// a checkpoint of size first+n. The store does not check the tree: that is
// internal/tlog's job.
func logBatch(first, n int64) ([]store.LogLeaf, []store.LogHash, store.LogCheckpoint) {
	var leaves []store.LogLeaf
	var hashes []store.LogHash
	for i := first; i < first+n; i++ {
		leaves = append(leaves, store.LogLeaf{
			Index: i, Kind: "complaint", Entry: []byte(fmt.Sprintf("entry %d", i)), IdempotencyID: fmt.Sprintf("id-%d", i),
			Salt: bytes.Repeat([]byte{byte(i)}, 32), Object: []byte(fmt.Sprintf("object %d", i)),
		})
		hashes = append(hashes,
			store.LogHash{ID: 2 * i, Hash: sha256.Sum256([]byte(fmt.Sprint(2 * i)))},
			store.LogHash{ID: 2*i + 1, Hash: sha256.Sum256([]byte(fmt.Sprint(2*i + 1)))})
	}
	size := first + n
	cp := store.LogCheckpoint{Size: size, Root: sha256.Sum256([]byte(fmt.Sprint(size))), Note: []byte(fmt.Sprintf("log\n%d\nroot\n\n— sig\n", size)),
		At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	return leaves, hashes, cp
}

func TestLog(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, url string) {
		ctx := context.Background()
		if _, err := db.LatestLogCheckpoint(ctx); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Fatalf("LatestLogCheckpoint on an empty log = %v, want ENOTFOUND", err)
		}
		_, _, cp0 := logBatch(0, 0)
		if err := db.AppendLogBatch(ctx, 0, cp0.At, nil, nil, &cp0); err != nil {
			t.Fatal(err)
		}
		a := db.NewLogAppender()
		defer a.Close()
		// Batches of sizes that use every chunk statement, each carrying
		// the checkpoint of the one before, and the last checkpoint alone.
		size := int64(0)
		var pending *store.LogCheckpoint
		for _, n := range []int64{1, 3, 17, 300, 1100} {
			leaves, hashes, cp := logBatch(size, n)
			if err := a.Append(ctx, size, cp.At, leaves, hashes, pending); err != nil {
				t.Fatalf("Append(%d leaves at %d) = %v", n, size, err)
			}
			size += n
			pending = &cp
		}
		if cp, err := db.LatestLogCheckpoint(ctx); err != nil || cp.Size != 321 {
			t.Fatalf("LatestLogCheckpoint before the last one is stored = %+v, %v; want size 321", cp, err)
		}
		if n, batches, err := db.LogSize(ctx, 321); err != nil || n != size || batches != 1 {
			t.Fatalf("LogSize(321) = %d, %d, %v; want %d, 1", n, batches, err, size)
		}
		if err := a.Append(ctx, size-1, pending.At, nil, nil, pending); err == nil {
			t.Fatal("Append of a checkpoint for another size than prevSize succeeded")
		}
		if err := a.Append(ctx, size, pending.At, nil, nil, pending); err != nil {
			t.Fatalf("Append of a checkpoint alone = %v", err)
		}
		cp, err := db.LatestLogCheckpoint(ctx)
		if err != nil || cp.Size != size || cp.Root != sha256.Sum256([]byte(fmt.Sprint(size))) || !strings.HasPrefix(string(cp.Note), "log\n") {
			t.Fatalf("LatestLogCheckpoint = %+v, %v", cp, err)
		}
		leaves, hashes, checkpoints, err := db.LogCounts(ctx)
		if err != nil || leaves != size || hashes != 2*size || checkpoints != 6 {
			t.Fatalf("LogCounts = %d, %d, %d, %v; want %d, %d, 6", leaves, hashes, checkpoints, err, size, 2*size)
		}

		l, err := db.LogLeaf(ctx, 42)
		if err != nil || string(l.Entry) != "entry 42" || l.IdempotencyID != "id-42" || l.Kind != "complaint" || string(l.Object) != "object 42" || len(l.Salt) != 32 {
			t.Fatalf("LogLeaf(42) = %+v, %v", l, err)
		}
		if _, err := db.LogLeaf(ctx, size); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("LogLeaf(size) = %v, want ENOTFOUND", err)
		}
		entries, err := db.LogEntries(ctx, 256, 256)
		if err != nil || len(entries) != 256 || string(entries[0]) != "entry 256" || string(entries[255]) != "entry 511" {
			t.Fatalf("LogEntries(256, 256) = %d entries, %v", len(entries), err)
		}
		if _, err := db.LogEntries(ctx, size-2, 3); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("LogEntries past the end = %v, want ENOTFOUND", err)
		}
		// Hashes are kept in runs (a batch's, or 256 of them): read across
		// several, in any order, repeated.
		ids := []int64{7, 3, 7, 0, 2*size - 1, 1000, 42, 255, 256, 257}
		hs, err := db.LogHashes(ctx, ids)
		if err != nil {
			t.Fatalf("LogHashes = %v", err)
		}
		for i, id := range ids {
			if hs[i] != sha256.Sum256([]byte(fmt.Sprint(id))) {
				t.Errorf("LogHashes: hash %d = %x", id, hs[i])
			}
		}
		if _, err := db.LogHashes(ctx, []int64{1, 2 * size}); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("LogHashes with a missing id = %v, want ENOTFOUND", err)
		}
		found, err := db.LogLeavesByIdempotencyID(ctx, []string{"id-5", "nope", "id-1000", `"quoted'`})
		if err != nil || len(found) != 2 {
			t.Fatalf("LogLeavesByIdempotencyID = %+v, %v", found, err)
		}

		// Scans see everything in order.
		var next int64
		err = db.ScanLogEntries(ctx, func(i int64, kind string, e []byte) error {
			if i != next || string(e) != fmt.Sprintf("entry %d", i) {
				return fmt.Errorf("entry %d: %q", i, e)
			}
			next++
			return nil
		})
		if err != nil || next != size {
			t.Errorf("ScanLogEntries: %v after %d", err, next)
		}
		next = 0
		err = db.ScanLogHashes(ctx, func(id int64, h []byte) error {
			if id != next || [32]byte(h) != sha256.Sum256([]byte(fmt.Sprint(id))) {
				return fmt.Errorf("hash %d", id)
			}
			next++
			return nil
		})
		if err != nil || next != 2*size {
			t.Errorf("ScanLogHashes: %v after %d", err, next)
		}
		var sizes []int64
		if err := db.ScanLogCheckpoints(ctx, func(c store.LogCheckpoint) error { sizes = append(sizes, c.Size); return nil }); err != nil ||
			fmt.Sprint(sizes) != "[0 1 4 21 321 1421]" {
			t.Errorf("ScanLogCheckpoints = %v, %v", sizes, err)
		}

		// A batch against a stale size, or repeating an id, writes nothing.
		leaves2, hashes2, cp2 := logBatch(size, 2)
		if err := a.Append(ctx, size-1, cp2.At, leaves2, hashes2, nil); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("Append at a stale size = %v, want ECONFLICT", err)
		}
		if err := a.Append(ctx, size+1, cp2.At, leaves2[1:], hashes2, nil); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("Append beyond the end = %v, want ECONFLICT", err)
		}
		cpStale := cp2
		cpStale.Size = size - 1
		if err := a.Append(ctx, size-1, cp2.At, nil, nil, &cpStale); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("Append of a checkpoint alone at a stale size = %v, want ECONFLICT", err)
		}
		leaves2[1].IdempotencyID = "id-3"
		if err := a.Append(ctx, size, cp2.At, leaves2, hashes2, nil); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("Append of a used idempotency id = %v, want ECONFLICT", err)
		}
		if n, _, _, _ := db.LogCounts(ctx); n != size {
			t.Errorf("after failed batches: %d leaves, want %d", n, size)
		}

		// Erase.
		if err := db.EraseLogObject(ctx, 42, &qorgau.AuditRecord{Actor: "test", Action: qorgau.AuditLogErased, Target: "log/42", Detail: "reason=test"}); err != nil {
			t.Fatal(err)
		}
		if recs, err := db.AuditRecords(ctx, qorgau.AuditFilter{}); err != nil || len(recs) != 1 || recs[0].Target != "log/42" {
			t.Errorf("audit after EraseLogObject = %+v, %v", recs, err)
		}
		if err := db.EraseLogObject(ctx, 42, &qorgau.AuditRecord{Actor: "test", Action: qorgau.AuditLogErased, Target: "log/42"}); qorgau.ErrorCode(err) != qorgau.ECONFLICT {
			t.Errorf("second EraseLogObject = %v, want ECONFLICT", err)
		}
		if recs, _ := db.AuditRecords(ctx, qorgau.AuditFilter{}); len(recs) != 1 {
			t.Errorf("a refused erasure was audited: %d records", len(recs))
		}
		if err := db.EraseLogObject(ctx, size, nil); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			t.Errorf("EraseLogObject(size) = %v, want ENOTFOUND", err)
		}
		if l, err := db.LogLeaf(ctx, 42); err != nil || l.Salt != nil || l.Object != nil || string(l.Entry) != "entry 42" {
			t.Errorf("LogLeaf(erased) = %+v, %v", l, err)
		}

		// The tree tables are append-only; only an erasure changes a leaf.
		raw := rawSQL(t, url)
		if _, err := raw.Exec(`UPDATE log_leaves SET salt = NULL, object = NULL WHERE idx = 2`); err != nil {
			t.Errorf("erasing directly = %v", err)
		}
		for _, s := range []string{
			`UPDATE log_leaves SET entry = entry WHERE idx = 1`,
			`UPDATE log_leaves SET kind = 'status' WHERE idx = 1`,
			`UPDATE log_leaves SET idem = 'other' WHERE idx = 1`,
			`UPDATE log_leaves SET object = entry WHERE idx = 1`,
			`UPDATE log_leaves SET salt = entry, object = entry WHERE idx = 42`,
			`DELETE FROM log_leaves WHERE idx = 1`,
			`UPDATE log_hash_runs SET hashes = hashes WHERE first_id = 0`,
			`DELETE FROM log_hash_runs WHERE first_id = 0`,
			`UPDATE log_checkpoints SET note = note WHERE size = 1`,
			`DELETE FROM log_checkpoints WHERE size = 1`,
		} {
			if _, err := raw.Exec(s); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s = %v, want the append-only error", s, err)
			}
		}
	})
}

func rawSQL(t *testing.T, url string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+url
	if strings.HasPrefix(url, "postgres") {
		driver, dsn = "pgx", url
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}
