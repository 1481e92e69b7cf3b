package web_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/browsertest"
	"qorgau.kz/qorgau/internal/store"
)

// TestBrowserNoticesAndTests walks an NPM coordinator through the notices
// (unread count in the header, marking read) and the test page (a new code
// shown once), in Russian and Kazakh, in a real browser.
func TestBrowserNoticesAndTests(t *testing.T) {
	site := newTestSite(t)
	ctx := t.Context()
	if err := site.DB.SaveBodies(ctx, []qorgau.Body{
		{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "ҰАТ", NameRU: "НПМ", NameEN: "NPM"},
		{Code: "PROS-KZ-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "Прокуратура", NameRU: "Прокуратура", NameEN: "Prosecutor"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*qorgau.Notice{
		{Kind: qorgau.NoticeTerminalDown, Bodies: []string{"NPM"}, Device: "KRG-001-T1", Facility: "KRG-001", Region: "KZ-35", Key: "terminal_down/KRG-001-T1/1", Text: "down"},
		{Kind: qorgau.NoticeTestDelivered, Bodies: []string{"NPM"}, Complaint: 12, Device: "KRG-001-T2", Facility: "KRG-001", Key: "test_delivered/12", Text: "test"},
	} {
		if _, err := site.DB.SaveNotice(ctx, n, false); err != nil {
			t.Fatal(err)
		}
	}
	const password = "visit-unannounced-7"
	secret := site.addUser(t, qorgau.User{Name: "nurlan", FullName: "Нұрлан Ержанов", Role: qorgau.RoleNPM}, password, true)
	// An earlier test complaint of nurlan's, delivered to two bodies and
	// opened by the prosecutor's member.
	site.addUser(t, qorgau.User{Name: "aigerim", Role: qorgau.RoleMember, Body: "PROS-KZ-35"}, password, true)
	now := time.Now().UTC().Truncate(time.Second)
	earlier := &qorgau.MonitorTest{CreatedBy: "nurlan", ExpiresAt: now.Add(time.Hour)}
	must(t, site.DB.CreateMonitorTest(ctx, "earlier", earlier, nil))
	if _, _, err := site.DB.ClaimMonitorTest(ctx, "earlier", "KRG-001-T1", "complaint:KRG-001-T1:e1", now); err != nil {
		t.Fatal(err)
	}
	must(t, site.DB.SaveComplaint(ctx, &store.Complaint{ID: 12, Idem: "complaint:KRG-001-T1:e1", Device: "KRG-001-T1", Facility: "KRG-001",
		Region: "KZ-35", Category: qorgau.CategoryOther, Test: true, LookupID: "00", Received: now.Add(-time.Hour),
		Bodies: []store.ComplaintBody{
			{Body: "NPM", State: qorgau.StateDelivered, Delivered: now.Add(-time.Hour), Due: now.AddDate(0, 0, 20)},
			{Body: "PROS-KZ-35", State: qorgau.StateDelivered, Delivered: now.Add(-time.Hour), Due: now.AddDate(0, 0, 20)},
		}}))
	must(t, site.DB.AppendAudit(ctx, &qorgau.AuditRecord{Actor: "aigerim", Action: qorgau.AuditComplaintRead, Target: "12"}))
	b := newBrowser(t, site.URL)
	b.Do("open the console", chromedp.Navigate(site.URL+"/notices"), chromedp.WaitVisible(chromedp.ID("name")))
	b.login("nurlan", password)
	b.Do("wait for the code form", chromedp.WaitVisible(chromedp.ID("code")))
	b.enterCode("/login/totp", secret)
	b.Do("wait for the home page", chromedp.WaitVisible(chromedp.ID("overview")))
	b.Do("open the notices", chromedp.Click(chromedp.CSS(`header nav a[href="/notices"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/notices/read-all"]`)))
	b.wantPath("/notices")
	b.wantText("header nav", "Уведомления 2", "Тестовые жалобы")
	b.wantText("#main", "Терминал KRG-001-T1 не работает", "Тестовая жалоба № 12 поступила")
	b.wantNoSidewaysScroll()
	b.Shot("notices-ru")

	first := browsertest.Run(b.Browser, "find the first unread", chromedp.Evaluate[string](`document.querySelector('tbody form').getAttribute('action')`))
	b.Do("mark one read",
		chromedp.Click(chromedp.CSS(`tbody form[action="`+first+`"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action="`+first+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/notices/read-all"]`)),
	)
	b.wantText("header nav", "Уведомления 1")

	b.Do("switch to Kazakh",
		chromedp.Click(chromedp.CSS(`form[action="/lang"] button[value="kk"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="kk"]`)),
	)
	b.wantText("#main", "KRG-001-T1 терминалы", "№ 12 сынақ шағымы")
	b.Shot("notices-kk")

	b.Do("open the test page", chromedp.Click(chromedp.CSS(`header nav a[href="/tests"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/tests"]`)))
	b.Do("create a code", chromedp.Click(chromedp.CSS(`form[action="/tests"] button`)), chromedp.WaitVisible(chromedp.ID("test-code")))
	if code := b.text("#test-code"); !regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`).MatchString(code) {
		b.Fatalf("the test code reads %q, want four groups of four digits", code)
	}
	b.wantText("#main", "әлі пайдаланылмаған", "пайдаланылған", "әлі ашылмаған")
	if n := browsertest.Run(b.Browser, "count arrivals", chromedp.Evaluate[int](`document.querySelectorAll("tr.arrival").length`)); n != 2 {
		b.Fatalf("the test page shows %d arrivals of complaint 12, want 2", n)
	}
	b.wantNoSidewaysScroll()
	b.Shot("tests-kk")
}
