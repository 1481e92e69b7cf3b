package fleet

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"qorgau.kz/qorgau"
)

// million builds a registry of n cameras in 2,000 facilities, ids as a
// real deployment writes them.
func million(n int) ([]qorgau.Device, []qorgau.Facility) {
	facs := make([]qorgau.Facility, 2000)
	for k := range facs {
		facs[k] = qorgau.Facility{Code: fmt.Sprintf("F-%04d", k), Region: fmt.Sprintf("KZ-%02d", k%20)}
	}
	sch, _ := qorgau.ParseSchedule("08:00-20:00")
	devs := make([]qorgau.Device, n)
	for i := range devs {
		devs[i] = qorgau.Device{ID: fmt.Sprintf("CAM-%07d", i), Kind: qorgau.DeviceCamera, Facility: facs[i%len(facs)].Code, Interval: 30}
		if i%1000 == 0 {
			devs[i].Kind, devs[i].Interval, devs[i].Required = qorgau.DeviceTerminal, 60, sch
		}
	}
	return devs, facs
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBytesPerDevice reports the heap a tracker of 1,000,000 devices
// holds, per device: the index map, the ids and the state slices. The
// registry rows it was built from are released first.
func BenchmarkBytesPerDevice(b *testing.B) {
	const n = 1_000_000
	for range b.N {
		before := heapInUse()
		devs, facs := million(n)
		tr := newTracker(Config{}, nil, devs, facs, nil)
		devs, facs = nil, nil
		after := heapInUse()
		b.ReportMetric(float64(after-before)/n, "bytes/device")
		runtime.KeepAlive(tr)
	}
}

// BenchmarkSweep1M times one sweep over 1,000,000 devices that are all up
// (the common case: nothing to write).
func BenchmarkSweep1M(b *testing.B) {
	devs, facs := million(1_000_000)
	tr := newTracker(Config{}, nil, devs, facs, nil)
	now := time.Now().UnixNano()
	var into []int32
	b.ResetTimer()
	for range b.N {
		into = tr.scan(tr.reg.Load(), now, into[:0])
	}
	if len(into) != 0 {
		b.Fatalf("%d devices down", len(into))
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/sweep")
}

// BenchmarkIngestBatch feeds camera beats as the batch API does: a lookup
// by id and an atomic store per beat, on one core.
func BenchmarkIngestBatch(b *testing.B) {
	devs, facs := million(100_000)
	tr := newTracker(Config{}, nil, devs, facs, nil)
	now := time.Now()
	batch := make([]qorgau.DeviceBeat, 10_000)
	for k := range batch {
		batch[k] = qorgau.DeviceBeat{Device: devs[(k*7919)%len(devs)].ID, Time: now, OK: true}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		bt := &batch[i%len(batch)]
		if err := tr.Beat(bt, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "beats/s")
}

// BenchmarkIngestParallel is the same beat on every core at once.
func BenchmarkIngestParallel(b *testing.B) {
	devs, facs := million(100_000)
	tr := newTracker(Config{}, nil, devs, facs, nil)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		k := 0
		for pb.Next() {
			bt := qorgau.DeviceBeat{Device: devs[k%len(devs)].ID, Time: now, OK: true}
			tr.Beat(&bt, now)
			k += 7919
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "beats/s")
}
