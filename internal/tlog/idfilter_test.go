package tlog

import (
	"fmt"
	"testing"
)

func TestIDFilter(t *testing.T) {
	f := newIDFilter()
	const n = 3 * idFilterFirst // a full first layer and a full second
	for i := 0; i < n; i++ {
		f.add(fmt.Sprintf("in-%d", i))
	}
	if len(f.layers) != 2 {
		t.Errorf("%d ids in %d layers, want 2", n, len(f.layers))
	}
	for i := 0; i < n; i++ {
		if id := fmt.Sprintf("in-%d", i); !f.mayContain(id) {
			t.Fatalf("mayContain(%s) = false for an added id", id)
		}
	}
	fp := 0
	for i := 0; i < n; i++ {
		if f.mayContain(fmt.Sprintf("out-%d", i)) {
			fp++
		}
	}
	// About 1% per layer; well under 5% in all.
	if rate := float64(fp) / n; rate > 0.05 {
		t.Errorf("false positive rate %.3f, want under 0.05", rate)
	}
	t.Logf("false positives: %d of %d", fp, n)
}
