package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/browsertest"
	"qorgau.kz/qorgau/internal/web"
)

// TestBrowserFleetLive opens the live fleet page in Chromium and watches a
// camera going down update it through server-sent events, without a
// reload; then the facility's timeline and the availability report.
func TestBrowserFleetLive(t *testing.T) {
	e := newEnv(t, web.Config{})
	tr := withFleet(t, e, web.Config{})
	ctx := context.Background()
	token := e.addSource(t, qorgau.CameraSource{Name: "vms"})
	beat := func(devices ...string) {
		var list []qorgau.DeviceBeat
		for _, d := range devices {
			list = append(list, qorgau.DeviceBeat{Device: d, Time: e.now, OK: true})
		}
		body, _ := json.Marshal(map[string]any{"heartbeats": list})
		if code, v := e.postBatch(t, token, body); code != 200 {
			t.Fatalf("batch = %d %v", code, v)
		}
	}
	beat("C-1", "C-2")

	b := newBrowser(t, e.ts.URL)
	b.Do("open the console", chromedp.Navigate(e.ts.URL+"/fleet"))
	b.login("u-npm", testPassword)
	b.Do("wait for the fleet page", chromedp.WaitVisible(chromedp.ID("fleet-table")))
	b.wantPath("/fleet")
	waitCell := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := browsertest.Run(b.Browser, "read "+sel, chromedp.Evaluate[string](`(document.querySelector('`+sel+`')||{}).textContent||""`))
			if strings.TrimSpace(got) == want {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s = %q, want %q", sel, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for browsertest.Run(b.Browser, "read the live line", chromedp.Evaluate[string](`document.getElementById("fleet-live").textContent`)) == "" {
		if time.Now().After(deadline) {
			b.Fatalf("the live stream never delivered its first update")
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitCell(`#f-EC-166-1 [data-k="cu"]`, "1")
	waitCell(`#f-EC-166-1 [data-k="cd"]`, "0")
	b.Shot("fleet-all-up")

	// C-1 falls silent; C-2 goes on. The page learns it by itself.
	for range 7 {
		e.now = e.now.Add(10 * time.Second)
		beat("C-2")
		must(t, tr.Sweep(ctx))
	}
	waitCell(`#f-EC-166-1 [data-k="cd"]`, "1")
	waitCell(`#f-EC-166-1 [data-k="cu"]`, "0")
	waitCell(`#f-EC-166-2 [data-k="cu"]`, "1")
	waitCell("#total-cd", "1")
	b.Shot("fleet-camera-down")

	b.Do("open the facility's timeline",
		chromedp.Click(chromedp.CSS(`a[href="/fleet/facility/EC-166-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section[aria-labelledby="outages"] table`)),
	)
	b.wantText(`section[aria-labelledby="outages"] table`, "C-1", "неизвестно")
	if n := browsertest.Run(b.Browser, "count bars", chromedp.Evaluate[int](`document.querySelectorAll('section[aria-labelledby="timeline"] svg rect').length`)); n < 2 {
		b.Fatalf("the timeline has %d rectangles, want a background and a bar", n)
	}
	b.wantNoSidewaysScroll()
	b.Shot("facility-timeline")
	b.Do("switch to Kazakh",
		chromedp.Click(chromedp.CSS(`form[action="/lang"] button[value="kk"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="kk"]`)),
	)
	b.wantText(`section[aria-labelledby="terminals"] table`, "T-1", "жұмыс істеп тұр")
	b.wantNoSidewaysScroll()
	b.Shot("facility-timeline-kk")
	b.Do("narrow the window to a tablet", chromedp.EmulateViewport(800, 1100))
	b.wantNoSidewaysScroll()
	b.Shot("facility-timeline-tablet")
	b.Do("widen the window again", chromedp.EmulateViewport(1366, 800))

	b.Do("open the availability report",
		chromedp.Navigate(e.ts.URL+"/fleet/availability"),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
	)
	b.wantText("main table", "EC-166-1", "EC-166-2", "C-1")
	b.Shot("availability")
}
