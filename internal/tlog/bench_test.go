package tlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
)

// The benchmarks measure appends end to end: Append returns after the
// batch's transaction has committed (one fsync per batch). Run them with
//
//	go test -run XXX -bench . ./internal/tlog
//
// PostgreSQL runs on a throw-away cluster with fsync on (pgtest Durable).
// BenchmarkFsync prints the machine's raw fsync rate for comparison: one
// appender can do at most about that many appends a second.

var durable struct {
	once sync.Once
	c    *pgtest.Cluster
	err  error
}

func durableDB(b *testing.B) string {
	durable.once.Do(func() { durable.c, durable.err = pgtest.Start(pgtest.Options{Durable: true}) })
	if durable.err != nil {
		b.Skipf("PostgreSQL: %v", durable.err)
	}
	url, err := durable.c.CreateDatabase(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return url
}

// benchEngines runs f on a fresh SQLite database and a fresh database of a
// durable PostgreSQL cluster.
func benchEngines(b *testing.B, f func(b *testing.B, db *store.DB, url string)) {
	b.Run("sqlite", func(b *testing.B) {
		url := filepath.Join(b.TempDir(), "bench.db")
		f(b, openDB(b, url), url)
	})
	b.Run("postgres", func(b *testing.B) {
		url := durableDB(b)
		f(b, openDB(b, url), url)
	})
}

func benchEntry(i int64, object []byte) Entry {
	return Entry{
		Kind:          "complaint",
		IdempotencyID: fmt.Sprintf("bench-%d-%d", os.Getpid(), i),
		Object:        object,
		Meta:          map[string]string{"region": "KZ-35", "facility-type": "colony-medium"},
	}
}

// BenchmarkAppend appends 512-byte objects from 1, 16 and 256 goroutines
// and reports entries/s, the p50 and p99 latency of Append, the mean batch
// size and the batches (commits) per second.
func BenchmarkAppend(b *testing.B) {
	fsyncs := fsyncRate(b.TempDir())
	benchEngines(b, func(b *testing.B, db *store.DB, url string) {
		l := start(b, db, testConfig(b))
		object := make([]byte, 512)
		var seq atomic.Int64
		for _, conc := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("appenders=%d", conc), func(b *testing.B) {
				_, _, cps0, _ := db.LogCounts(context.Background())
				size0 := l.Size()
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				cpu0 := cpuTime()
				t0 := time.Now()
				for g := 0; g < conc; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							s := time.Now()
							if _, err := l.Append(context.Background(), benchEntry(seq.Add(1), object)); err != nil {
								b.Error(err)
								return
							}
							lat[i] = time.Since(s)
						}
					}()
				}
				wg.Wait()
				d := time.Since(t0)
				cpu := cpuTime() - cpu0
				b.StopTimer()
				_, _, cps1, _ := db.LogCounts(context.Background())
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(b.N)/d.Seconds(), "entries/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				batches := max(cps1-cps0, 1)
				b.ReportMetric(float64(l.Size()-size0)/float64(batches), "entries/batch")
				b.ReportMetric(float64(batches)/d.Seconds(), "batches/s")
				b.ReportMetric(fsyncs, "fsync/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/entry")
				b.ReportMetric(0, "ns/op")
			})
		}
	})
}

// BenchmarkFsync reports the raw rate of write+fsync of a small file in
// the test's temporary folder, the ceiling for one-at-a-time commits.
func BenchmarkFsync(b *testing.B) {
	b.ReportMetric(fsyncRate(b.TempDir()), "fsync/s")
	b.ReportMetric(0, "ns/op")
}

// cpuTime returns the CPU time this process has used (the database
// server's, on PostgreSQL, is not counted).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var fsyncRates sync.Map

// fsyncRate writes and fsyncs a small file in dir in a loop for a second
// and returns the rate, measured once per process.
func fsyncRate(dir string) float64 {
	if r, ok := fsyncRates.Load("rate"); ok {
		return r.(float64)
	}
	f, err := os.Create(filepath.Join(dir, "fsync-test"))
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 512)
	n := 0
	t0 := time.Now()
	for time.Since(t0) < time.Second {
		buf[0] = byte(n)
		if _, err := f.WriteAt(buf, 0); err != nil {
			return 0
		}
		if err := f.Sync(); err != nil {
			return 0
		}
		n++
	}
	r := float64(n) / time.Since(t0).Seconds()
	fsyncRates.Store("rate", r)
	return r
}

// BenchmarkOpen measures Open's full verification of a log of a million
// entries, written directly through the store in batches of 10,000.
func BenchmarkOpen(b *testing.B) {
	const size = 1_000_000
	benchEngines(b, func(b *testing.B, db *store.DB, url string) {
		cfg := testConfig(b)
		l, err := Open(context.Background(), db, cfg)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		fillLog(b, l, size, 10_000)
		b.Logf("wrote %d entries in %v", size, time.Since(t0).Round(time.Millisecond))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			l, err := Open(context.Background(), db, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if l.Size() != size {
				b.Fatalf("size %d", l.Size())
			}
		}
		d := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(d.Seconds(), "s/open")
		b.ReportMetric(size/d.Seconds(), "entries/s")
		b.ReportMetric(0, "ns/op")
	})
}

// fillLog appends n entries to l in batches of batch, bypassing the
// sequencer (which is not running), with one checkpoint per batch,
// signed after the batch committed.
func fillLog(b *testing.B, l *Log, n, batch int) {
	ctx := context.Background()
	object := make([]byte, 64)
	for done := 0; done < n; {
		k := min(batch, n-done)
		tree := l.tree.clone()
		leaves := make([]store.LogLeaf, k)
		hashes := make([]store.LogHash, 0, 2*k+8)
		salt := make([]byte, SaltSize)
		for i := range leaves {
			idx := tree.n
			rec := recordFor(benchEntry(idx, object), salt)
			hs, err := tree.append(sumtlog.RecordHash(rec))
			if err != nil {
				b.Fatal(err)
			}
			for j, h := range hs {
				hashes = append(hashes, store.LogHash{ID: sumtlog.StoredHashIndex(0, idx) + int64(j), Hash: h})
			}
			leaves[i] = store.LogLeaf{Index: idx, Kind: "complaint", Entry: rec, IdempotencyID: fmt.Sprintf("fill-%d", idx), Salt: salt, Object: object}
			l.ids.add(leaves[i].IdempotencyID)
		}
		root, err := tree.root()
		if err != nil {
			b.Fatal(err)
		}
		cp, err := l.sign(tree.n, root)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.db.AppendLogBatch(ctx, l.tree.n, time.Now(), leaves, hashes, nil); err != nil {
			b.Fatal(err)
		}
		if err := l.db.AppendLogBatch(ctx, tree.n, time.Now(), nil, nil, &store.LogCheckpoint{Size: tree.n, Root: root, Note: cp, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
		l.tree = tree
		l.pub.Store(&published{size: tree.n, root: root, note: cp})
		done += k
	}
}
