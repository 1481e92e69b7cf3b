package web_test

// The browser tests drive the staff console in a real, headless Chromium
// (internal/browsertest): the login flow with its second factor, the
// language switch, the registry pages and logging out. They take a
// screenshot of every step; set QORGAU_SCREENSHOTS=DIR to keep them.

import (
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/browsertest"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/web"
)

// cheap are Argon2id costs that keep the test fast; the hashes are real.
var cheap = auth.Params{Memory: 1024, Time: 1, Threads: 1}

// testSite is a console over a fresh SQLite database with a small registry.
type testSite struct {
	URL string
	DB  *store.DB
}

// Registry of the test site: two facilities in two regions. The first has
// a zone without a camera, which the facility page flags.
var (
	testFacilities = []qorgau.Facility{
		{Code: "KRG-001", Name: "Учреждение ЕЦ-166/1", Region: "KZ-35", Type: qorgau.ColonyMedium,
			Authority: "КУИС МВД РК", Capacity: 1200, Population: 987},
		{Code: "ALA-SIZO", Name: "Следственный изолятор ЛА-155/18", Region: "KZ-75", Type: qorgau.PretrialCentre,
			Authority: "КУИС МВД РК", Capacity: 800, Population: 812},
	}
	testZones = []qorgau.Zone{
		{Facility: "KRG-001", Code: "B1", Name: "Жилой блок 1", Kind: qorgau.ZoneCellBlock},
		{Facility: "KRG-001", Code: "C1", Name: "Коридор 1-го этажа", Kind: qorgau.ZoneCorridor},
		{Facility: "KRG-001", Code: "MED", Name: "Медицинская часть", Kind: qorgau.ZoneMedicalUnit},
		{Facility: "ALA-SIZO", Code: "K1", Name: "Корпус 1", Kind: qorgau.ZoneCellBlock},
	}
	testDevices = []qorgau.Device{
		{ID: "KRG-001-T1", Kind: qorgau.DeviceTerminal, Facility: "KRG-001", Zone: "B1", Interval: 60},
		{ID: "KRG-001-T2", Kind: qorgau.DeviceTerminal, Facility: "KRG-001", Zone: "C1", Interval: 60},
		{ID: "KRG-001-CAM1", Kind: qorgau.DeviceCamera, Facility: "KRG-001", Zone: "B1", Interval: 30},
		{ID: "KRG-001-CAM2", Kind: qorgau.DeviceCamera, Facility: "KRG-001", Zone: "C1", Interval: 30},
		{ID: "ALA-SIZO-T1", Kind: qorgau.DeviceTerminal, Facility: "ALA-SIZO", Zone: "K1", Interval: 60},
		{ID: "ALA-SIZO-CAM1", Kind: qorgau.DeviceCamera, Facility: "ALA-SIZO", Zone: "K1", Interval: 30},
	}
)

// newTestSite starts a console that requires a second factor of everyone,
// as production does.
func newTestSite(t *testing.T) *testSite {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveFacilities(ctx, testFacilities, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveZones(ctx, testZones, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveDevices(ctx, testDevices, nil); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(db, slog.New(slog.DiscardHandler), web.Config{RequireTOTP: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv.PasswordParams = cheap
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testSite{URL: ts.URL, DB: db}
}

// addUser creates an account with password and, if withTOTP, an enrolled
// second factor, whose secret it returns.
func (s *testSite) addUser(t *testing.T, u qorgau.User, password string, withTOTP bool) string {
	t.Helper()
	hash, err := auth.HashPassword(password, cheap)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = hash
	if withTOTP {
		if u.TOTPSecret, err = auth.NewTOTPSecret("Qorgau", u.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DB.CreateUser(t.Context(), &u, nil); err != nil {
		t.Fatal(err)
	}
	return u.TOTPSecret
}

// browser is the console in one headless Chromium.
type browser struct {
	*browsertest.Browser
	base string // the site's URL
}

// newBrowser starts Chromium at laptop size. Russian is the browser's
// language, so the page starts in Russian and the switch to Kazakh is
// visible.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	return &browser{
		Browser: browsertest.New(t, 1366, 800, chromedp.Flag("lang", "ru"), chromedp.Flag("accept-lang", "ru")),
		base:    base,
	}
}

// path returns the path and query of the page the tab shows.
func (b *browser) path() string {
	b.T.Helper()
	loc := browsertest.Run(b.Browser, "read location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		b.Fatalf("parse location %q: %v", loc, err)
	}
	return u.RequestURI()
}

func (b *browser) wantPath(want string) {
	b.T.Helper()
	if got := b.path(); got != want {
		b.Fatalf("location = %s, want %s", got, want)
	}
}

func (b *browser) text(sel string) string {
	b.T.Helper()
	return browsertest.Run(b.Browser, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// wantText checks that the element sel shows every one of want.
func (b *browser) wantText(sel string, want ...string) {
	b.T.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.Fatalf("text of %s = %q, want it to contain %q", sel, got, w)
		}
	}
}

// wantNoSidewaysScroll checks that the page is no wider than the window.
func (b *browser) wantNoSidewaysScroll() {
	b.T.Helper()
	over := browsertest.Run(b.Browser, "measure the page", chromedp.Evaluate[int](
		`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if over > 0 {
		b.Fatalf("the page is %d px wider than the window", over)
	}
}

// login fills and sends the password form the browser is looking at.
func (b *browser) login(name, password string) {
	b.T.Helper()
	b.Do("sign in as "+name,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
	)
}

// enterCode types a TOTP code for secret into the form at action and sends it.
func (b *browser) enterCode(action, secret string) {
	b.T.Helper()
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		b.T.Fatal(err)
	}
	b.Do("enter the TOTP code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS(`form[action="`+action+`"] button[type="submit"]`)),
	)
}

// logout presses the header's log-out button and checks that the login
// form comes back, and that the console is closed again.
func (b *browser) logout() {
	b.T.Helper()
	b.Do("log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("name")),
	)
	b.wantPath("/login")
	b.Shot("logged-out")
	b.Do("open the home page after logging out",
		chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.ID("name")),
	)
	b.wantPath("/login?next=%2F")
}

func TestBrowserLogin(t *testing.T) {
	site := newTestSite(t)
	const password = "steppe-wind-2026"
	secret := site.addUser(t, qorgau.User{Name: "aigerim", FullName: "Айгерім Сейітова", Role: qorgau.RoleAdmin}, password, true)
	b := newBrowser(t, site.URL)

	b.Do("open the console", chromedp.Navigate(site.URL+"/"), chromedp.WaitVisible(chromedp.ID("name")))
	b.wantPath("/login?next=%2F")
	if got := browsertest.Run(b.Browser, "read lang", chromedp.Evaluate[string](`document.documentElement.lang`)); got != "ru" {
		b.Fatalf(`<html lang> = %q on a Russian browser, want "ru"`, got)
	}
	b.Shot("login")

	b.login("aigerim", password)
	b.Do("wait for the code form", chromedp.WaitVisible(chromedp.ID("code")))
	b.wantPath("/login/totp")
	b.Shot("totp")

	b.enterCode("/login/totp", secret)
	b.Do("wait for the home page", chromedp.WaitVisible(chromedp.ID("overview")))
	b.wantPath("/")
	b.wantText("main h1", "Айгерім Сейітова")
	b.wantText("#main", "Обзор")
	b.Shot("home-ru")

	b.Do("switch to Kazakh",
		chromedp.Click(chromedp.CSS(`form[action="/lang"] button[value="kk"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="kk"]`)),
	)
	b.wantPath("/")
	b.wantText("header nav", "Мекемелер", "Құрылғылар")
	b.wantText(`form[action="/lang"] button[aria-pressed="true"]`, "Қазақша")
	b.Shot("home-kk")

	b.Do("open the facility list",
		chromedp.Navigate(site.URL+"/facilities"),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
	)
	b.wantText("main table", "Учреждение ЕЦ-166/1", "Следственный изолятор ЛА-155/18", "Қарағанды облысы")
	if got := b.text(`header nav a[aria-current="page"]`); got != "Мекемелер" {
		b.Fatalf("current menu item = %q, want Мекемелер", got)
	}
	b.Shot("facilities")

	b.Do("open a facility",
		chromedp.Click(chromedp.CSS(`tbody th a[href="/facilities/KRG-001"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section[aria-labelledby="zones"] table`)),
	)
	b.wantPath("/facilities/KRG-001")
	b.wantText("main h1", "Учреждение ЕЦ-166/1")
	b.wantText(`section[aria-labelledby="zones"] table`,
		"Жилой блок 1", "Коридор 1-го этажа", "Медицинская часть",
		"камера жоқ") // the medical unit has no camera
	b.wantText(`section[aria-labelledby="terminals"] table`, "KRG-001-T1", "KRG-001-T2")
	b.Shot("facility")

	// On a tablet held upright the page must not scroll sideways: wide
	// tables scroll inside their own box, and the header wraps.
	b.Do("narrow the window to a tablet", chromedp.EmulateViewport(800, 1100))
	b.wantNoSidewaysScroll()
	b.Shot("facility-tablet")
	b.Do("open the facility list on a tablet",
		chromedp.Navigate(site.URL+"/facilities"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/facilities"]`)),
	)
	b.wantNoSidewaysScroll()
	b.Shot("facilities-tablet")
	b.Do("widen the window again", chromedp.EmulateViewport(1366, 800))

	b.logout()
}

func TestBrowserTOTPEnrolment(t *testing.T) {
	site := newTestSite(t)
	const password = "visit-unannounced-7"
	site.addUser(t, qorgau.User{Name: "nurlan", FullName: "Нұрлан Ержанов", Role: qorgau.RoleNPM}, password, false)
	b := newBrowser(t, site.URL)

	b.Do("open the login page", chromedp.Navigate(site.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name")))
	b.login("nurlan", password)
	b.Do("wait for the enrolment page", chromedp.WaitVisible(chromedp.ID("secret")))
	b.wantPath("/login/totp-setup")
	// The QR code is a data: URL, which the Content-Security-Policy must let
	// through; a blocked image has no natural width.
	if w := browsertest.Run(b.Browser, "measure the QR code", chromedp.Evaluate[int](`document.querySelector(".qr img").naturalWidth`)); w == 0 {
		b.Fatalf("the QR code did not load")
	}
	b.Shot("totp-setup")

	secret := strings.TrimSpace(b.text("#secret"))
	b.enterCode("/login/totp-setup", secret)
	b.Do("wait for the home page", chromedp.WaitVisible(chromedp.ID("overview")))
	b.wantPath("/")
	b.wantText("main h1", "Нұрлан Ержанов")
	b.Shot("home")

	u, err := site.DB.UserByName(t.Context(), "nurlan")
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPSecret != secret {
		t.Errorf("stored TOTP secret = %q, want the one shown on the page, %q", u.TOTPSecret, secret)
	}
	b.logout()
}

// TestBrowserFirstLogin is a new account's first visit: a one-time
// password, then the person's own password, then the second factor.
func TestBrowserFirstLogin(t *testing.T) {
	site := newTestSite(t)
	const oneTime = "Hk7mPq2xRt9wZc4vNb3s"
	site.addUser(t, qorgau.User{Name: "dana", FullName: "Дана Әбілқызы", Role: qorgau.RoleLiaison,
		Facility: "KRG-001", MustChangePassword: true}, oneTime, false)
	b := newBrowser(t, site.URL)

	b.Do("open the login page", chromedp.Navigate(site.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name")))
	b.login("dana", oneTime)
	b.Do("wait for the password form", chromedp.WaitVisible(chromedp.ID("again")))
	b.wantPath("/login/password")
	b.Shot("password")

	b.Do("choose a password",
		chromedp.SendKeys(chromedp.ID("password"), "karaganda-winter-19"),
		chromedp.SendKeys(chromedp.ID("again"), "karaganda-winter-19"),
		chromedp.Click(chromedp.CSS(`form[action="/login/password"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("secret")),
	)
	b.wantPath("/login/totp-setup")

	b.enterCode("/login/totp-setup", strings.TrimSpace(b.text("#secret")))
	b.Do("wait for the home page", chromedp.WaitVisible(chromedp.ID("overview")))
	b.wantPath("/")
	b.Shot("home")

	// A liaison's facility list is its own facility's page, and no other
	// facility opens.
	b.Do("open the facility list",
		chromedp.Navigate(site.URL+"/facilities"),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
	)
	b.wantPath("/facilities/KRG-001")
	b.Do("open another facility",
		chromedp.Navigate(site.URL+"/facilities/ALA-SIZO"),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)),
	)
	b.wantText("main h1", "Доступ запрещён")
	b.Shot("forbidden")
	b.logout()
}
