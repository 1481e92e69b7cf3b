// Package browsertest drives a headless Chromium for the browser tests of
// the console and the kiosk: one browser with a fresh profile and one tab,
// steps with a timeout each, a failure that reports the page's address and
// text with a screenshot, and screenshots named after the test and the step.
// Set QORGAU_SCREENSHOTS=DIR to keep the screenshots for a person to look at.
//
// Without Chromium on PATH a test skips, except under CI=true, where a
// missing browser is a failure. The package is used only by tests.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// Timeout bounds a whole browser: starting Chromium and every step
	// after it.
	Timeout = 120 * time.Second
	// StepTimeout bounds one step: an action and the wait for the page it
	// leads to.
	StepTimeout = 15 * time.Second
)

// Chromium returns the path of a Chromium or Chrome binary, or skips the
// test (fails it under CI=true) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "no chromium, chromium-browser or google-chrome on PATH; install Chromium (Debian: apt-get install chromium) to run the browser tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Browser is one headless Chromium with a fresh profile, driving one tab.
type Browser struct {
	T *testing.T
	// Ctx is the tab's context; steps derive their timeouts from it.
	Ctx   context.Context
	dirs  []string // where screenshots go
	shots int
}

// New starts Chromium with a window and viewport of width×height and the
// extra options (flags such as the browser's language or a fake
// microphone). Its lifetime is bounded by Timeout and by the test.
func New(t *testing.T, width, height int, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	path := Chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	// The network is closed and the tests run as root: no sandbox, nothing
	// that phones home, and a profile of our own.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium")),
		chromedp.WindowSize(width, height),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(opts, extra...)...)
	t.Cleanup(cancelAlloc)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	// Start the browser on the long-lived context: a browser started under
	// a step's timeout would die with it.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	b := &Browser{T: t, Ctx: tabCtx, dirs: []string{t.TempDir()}}
	if dir := os.Getenv("QORGAU_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b.dirs = append(b.dirs, dir)
	}
	return b
}

// Do runs one step under StepTimeout. On failure it reports where the
// browser was and what the page said, and stops the test.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}

// Run runs one action that returns a value under StepTimeout, and stops
// the test as Do does when it fails.
func Run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	return v
}

// Fatalf stops the test with the page's address and text, and a
// screenshot, so that a failure can be understood without rerunning it.
func (b *Browser) Fatalf(format string, args ...any) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.Shot("failure")
	b.T.Fatalf("%s\nat %s, the page says:\n%s", fmt.Sprintf(format, args...), loc, text)
}

// Shot saves a full-page PNG named after the test and the step.
func (b *Browser) Shot(step string) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, StepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Errorf("screenshot %s: %v", step, err)
		return
	}
	b.shots++
	name := fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(b.T.Name(), "/", "-"), b.shots, step)
	for _, dir := range b.dirs {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			b.T.Errorf("save screenshot: %v", err)
		}
	}
}
