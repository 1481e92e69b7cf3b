package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
)

// consoleLogin signs a world user in through the real login flow (password,
// then TOTP) and returns a client carrying the session.
func consoleLogin(t *testing.T, w *world, base, name string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/login", url.Values{"name": {name}, "password": {worldPassword}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") != "/login/totp" {
		t.Fatalf("login of %s went to %q", name, resp.Header.Get("Location"))
	}
	code, _ := auth.TOTPCode(w.totp[name], time.Now())
	resp, err = c.PostForm(base+"/login/totp", url.Values{"code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") != "/" {
		t.Fatalf("TOTP of %s went to %q", name, resp.Header.Get("Location"))
	}
	return c
}

func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInbox files a complaint through the terminal API and reads it in the
// console as a member of the body it was sent to: the content is decrypted
// only in that member's session, the reading is in the audit log, and
// nobody else can open it.
func TestInbox(t *testing.T) {
	w, srv, kt, code, reply := openWorld(t)
	const text = "Меня избили в дежурной части 12 ноября, врач не осмотрел."
	p := kt.seal(t, text, qorgau.CategoryMedical, []string{"PROS-KZ-35"}, code, reply, "inbox-1")
	res := kt.submit(t, p)
	id := strconv.FormatInt(res.Complaint, 10)

	member := consoleLogin(t, w, srv.base(), worldMember)
	var status int
	var body string
	for range 50 { // delivery to the inbox follows the log's commit
		status, body = getPage(t, member, srv.base()+"/inbox")
		if strings.Contains(body, `href="/inbox/`+id+`"`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != 200 || !strings.Contains(body, `href="/inbox/`+id+`"`) {
		t.Fatalf("inbox = %d, lacks complaint %s", status, id)
	}
	if strings.Contains(body, "избили") {
		t.Error("the inbox list shows complaint content")
	}
	status, body = getPage(t, member, srv.base()+"/inbox/"+id)
	if status != 200 || !strings.Contains(body, text) {
		t.Fatalf("complaint page = %d, does not show the decrypted text", status)
	}

	if !strings.Contains(body, `action="/inbox/`+id+`/reply"`) {
		t.Fatal("the complaint page offers no reply form")
	}

	// The member extends the term with a reason; the state shows it.
	until := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	resp0, err := member.PostForm(srv.base()+"/inbox/"+id+"/extend", url.Values{"until": {until}, "reason": {"ждём результаты судебно-медицинской экспертизы"}})
	if err != nil {
		t.Fatal(err)
	}
	resp0.Body.Close()
	if _, body = getPage(t, member, srv.base()+"/inbox/"+id); resp0.StatusCode != http.StatusSeeOther || !strings.Contains(body, "срок продлён") {
		t.Fatalf("extension = %d; the page does not show the extended state", resp0.StatusCode)
	}

	// The member answers; the complainant reads the answer at a kiosk with
	// the receipt code, and confirms it.
	const answer = "Прокурор проведёт проверку и назначит медицинское освидетельствование."
	resp, err := member.PostForm(srv.base()+"/inbox/"+id+"/reply", url.Values{"text": {answer}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply = %d", resp.StatusCode)
	}
	if _, body = getPage(t, member, srv.base()+"/inbox/"+id); !strings.Contains(body, answer) {
		t.Error("the complaint page does not show the answer sent")
	}
	again, err := seal.DeriveReply(seal.FormatCode(code), kt.salt) // the person types the code again
	if err != nil {
		t.Fatal(err)
	}
	fu, err := kt.Followup(context.Background(), again.LookupID)
	if err != nil || len(fu) != 1 || fu[0].ID != res.Complaint || len(fu[0].Replies) != 1 {
		t.Fatalf("follow-up = %+v, %v; want the complaint with one answer", fu, err)
	}
	got, err := seal.OpenReply(fu[0].Replies[0].Ciphertext, again.Identities()...)
	if err != nil || got != answer {
		t.Fatalf("the kiosk decrypts %q, %v; want the answer", got, err)
	}
	if err := kt.AnswerRead(context.Background(), res.Complaint, again.LookupID); err != nil {
		t.Fatal(err)
	}
	fu, _ = kt.Followup(context.Background(), again.LookupID)
	if fu[0].Bodies["PROS-KZ-35"] != string(qorgau.StateAnswerDelivered) {
		t.Errorf("state after the person read the answer = %v, want answer-delivered", fu[0].Bodies)
	}
	// The person sees the whole history, from the delivery to the body's
	// inbox to their own reading, in order.
	var states []string
	for i, e := range fu[0].Events {
		if i > 0 && e.At.Before(fu[0].Events[i-1].At) {
			t.Errorf("history out of order: %+v", fu[0].Events)
		}
		states = append(states, e.State)
	}
	if want := "delivered registered extended answered answer-delivered"; strings.Join(states, " ") != want {
		t.Errorf("history the kiosk shows = %v, want %s", states, want)
	}
	if err := kt.AnswerRead(context.Background(), res.Complaint, "0123456789abcdef0123456789abcdef"); err == nil {
		t.Error("confirming with another code's lookup id succeeded")
	}
	// The member closes the copy with the outcome and the evidence considered.
	resp0, err = member.PostForm(srv.base()+"/inbox/"+id+"/close", url.Values{"outcome": {"upheld"}, "evidence": {"medical", "footage"}})
	if err != nil {
		t.Fatal(err)
	}
	resp0.Body.Close()
	// The history words the outcome and the evidence in the reader's
	// language (Russian, the console's default).
	if _, body = getPage(t, member, srv.base()+"/inbox/"+id); resp0.StatusCode != http.StatusSeeOther ||
		!strings.Contains(body, "итог: удовлетворена; рассмотренные доказательства: медицинское освидетельствование, видеозаписи") ||
		!strings.Contains(body, "срок продлён до "+until+": ждём результаты") {
		t.Errorf("closing = %d; the history does not show the outcome, the evidence and the extension", resp0.StatusCode)
	}
	// The kiosk gets the same facts, to word them in the person's language.
	fu, _ = kt.Followup(context.Background(), again.LookupID)
	var facts []string
	for _, e := range fu[0].Events {
		if e.Term != "" || e.Outcome != "" {
			facts = append(facts, fmt.Sprintf("%s %s %s %v", e.State, e.Term, e.Outcome, e.Evidence))
		}
	}
	if want := fmt.Sprintf("extended %s  []|closed  upheld [medical footage]", until); strings.Join(facts, "|") != want {
		t.Errorf("the kiosk's history facts = %q, want %q", strings.Join(facts, "|"), want)
	}

	// The public statistics count it without content, and as <5.
	anon := &http.Client{}
	if status, body = getPage(t, anon, srv.base()+"/stats"); status != 200 || !strings.Contains(body, "&lt;5") || strings.Contains(body, "избили") {
		t.Errorf("public statistics = %d, want a <5 count and no content", status)
	}

	// A member of another body, and an administrator, cannot open it.
	outsider := consoleLogin(t, w, srv.base(), worldOutsider)
	if status, body = getPage(t, outsider, srv.base()+"/inbox/"+id); status != http.StatusNotFound || strings.Contains(body, "избили") {
		t.Errorf("another body's member opening it = %d, want 404", status)
	}
	admin := consoleLogin(t, w, srv.base(), "admin")
	if status, _ = getPage(t, admin, srv.base()+"/inbox/"+id); status != http.StatusForbidden {
		t.Errorf("the administrator opening it = %d, want 403", status)
	}

	// The reading is in the audit log, once, by the member.
	srv.kill()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var reads int
	var actor string
	db.QueryRow(`SELECT COUNT(*), MAX(actor) FROM audit_log WHERE action = 'complaint.read' AND target = $1`, id).Scan(&reads, &actor)
	if reads < 2 || actor != worldMember {
		t.Errorf("audit has %d readings of complaint %s by %q, want them by %s (opening, replying)", reads, id, actor, worldMember)
	}
	// Every change of state is a status leaf of the log: registered when
	// opened, answered, answer delivered.
	var statuses int
	db.QueryRow(`SELECT COUNT(*) FROM log_leaves WHERE kind = 'status'`).Scan(&statuses)
	var events int
	db.QueryRow(`SELECT COUNT(*) FROM complaint_events WHERE complaint = $1`, id).Scan(&events)
	if statuses != 5 || events != 5 {
		t.Errorf("status leaves = %d, events = %d; want 5 each (registered, extended, answered, answer-delivered, closed)", statuses, events)
	}
}

// TestRedirect has a member redirect a complaint to the competent body: the
// content is sealed anew to that body, whose member can then read it, and
// the first body's copy is marked redirected.
func TestRedirect(t *testing.T) {
	w, srv, kt, code, reply := openWorld(t)
	const text = "Вопрос о пенсии, не о колонии."
	kt.identity = &seal.Identity{Name: "Ахметов Бауыржан", BirthDate: "1990", Detail: "отряд 5"}
	p := kt.seal(t, text, qorgau.CategoryOther, []string{"PROS-KZ-35"}, code, reply, "redirect-1")
	res := kt.submit(t, p)
	id := strconv.FormatInt(res.Complaint, 10)
	member := consoleLogin(t, w, srv.base(), worldMember)
	for range 50 {
		if status, _ := getPage(t, member, srv.base()+"/inbox/"+id); status == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Coded as naming the NPM: it cannot be redirected there.
	resp, err := member.PostForm(srv.base()+"/inbox/"+id+"/code", url.Values{"kind": {"complaint"}, "category": {"other"}, "named": {"NPM"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = member.PostForm(srv.base()+"/inbox/"+id+"/redirect", url.Values{"to": {"NPM"}, "reason": {"жалоба на действия сотрудников НПМ"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("redirect to a body the complaint names = %d, want 403", resp.StatusCode)
	}
	resp, err = member.PostForm(srv.base()+"/inbox/"+id+"/redirect", url.Values{"to": {"OMBUDSMAN"}, "reason": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("redirect without a reason = %d, want 400", resp.StatusCode)
	}
	resp, err = member.PostForm(srv.base()+"/inbox/"+id+"/redirect", url.Values{"to": {"OMBUDSMAN"}, "reason": {"вопрос социального обеспечения, не прокуратуры"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("redirect = %d", resp.StatusCode)
	}
	ombudsman := consoleLogin(t, w, srv.base(), worldOutsider)
	status, body := getPage(t, ombudsman, srv.base()+"/inbox/"+id)
	if status != 200 || !strings.Contains(body, text) || !strings.Contains(body, "Ахметов Бауыржан, 1990 · отряд 5") {
		t.Fatalf("the new body opening the redirected complaint = %d, does not show the text and the person", status)
	}
	if _, body = getPage(t, member, srv.base()+"/inbox/"+id); !strings.Contains(body, "перенаправлена") ||
		!strings.Contains(body, "перенаправлено в OMBUDSMAN: вопрос социального обеспечения, не прокуратуры") {
		t.Error("the first body's copy is not shown as redirected to OMBUDSMAN with the reason")
	}

	// The new body answers; then a court orders the complaint erased. The
	// log's copy goes, and with it the copy re-encrypted for the new body
	// and the answer's ciphertext: neither body can read it any more, and
	// the kiosk gets no answer to open.
	resp, err = ombudsman.PostForm(srv.base()+"/inbox/"+id+"/reply", url.Values{"text": {"Ваш вопрос передан в органы соцзащиты."}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new body's reply = %d", resp.StatusCode)
	}
	fu, err := kt.Followup(context.Background(), reply.LookupID)
	if err != nil || len(fu) != 1 || len(fu[0].Replies) != 1 {
		t.Fatalf("follow-up before the erasure = %+v, %v; want one answer", fu, err)
	}
	if out, errOut, code := runQ(t, nil, "admin", "log", "erase", "--index", id, "--reason", "решение суда 2-17/2026", "-data", w.dir); code != 0 {
		t.Fatalf("qorgau admin log erase = %d\n%s%s", code, out, errOut)
	}
	for name, c := range map[string]*http.Client{"the redirected-to body": ombudsman, "the first body": member} {
		status, body := getPage(t, c, srv.base()+"/inbox/"+id)
		if status != http.StatusNotFound || strings.Contains(body, text) || !strings.Contains(body, "erased") {
			t.Errorf("%s opening the erased complaint = %d, want 404 saying it was erased and no text", name, status)
		}
		// Said in the console's language, not "nothing at this address".
		if !regexp.MustCompile(`<h1 id="error-title">(Erased|Стёрто|Өшірілген)</h1>`).MatchString(body) || !strings.Contains(body, "admin log erase") {
			t.Errorf("%s: the erased complaint's page does not say it was erased:\n%s", name, body)
		}
	}
	if fu, err = kt.Followup(context.Background(), reply.LookupID); err != nil || len(fu) != 1 || len(fu[0].Replies) != 0 {
		t.Errorf("follow-up after the erasure = %+v, %v; want the complaint's history and no answer", fu, err)
	}
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var copies, answers int
	db.QueryRow(`SELECT COUNT(*) FROM complaint_copies WHERE complaint = $1`, id).Scan(&copies)
	db.QueryRow(`SELECT COUNT(*) FROM complaint_replies WHERE complaint = $1 AND length(ciphertext) > 0`, id).Scan(&answers)
	if copies != 0 || answers != 0 {
		t.Errorf("after the erasure %d redirected copies and %d answers with ciphertext remain, want none", copies, answers)
	}
}

// TestTortureFlag codes a torture allegation and clears its flag only with
// a second member's approval: the coding form cannot clear it, and the
// member who asked cannot approve their own request.
func TestTortureFlag(t *testing.T) {
	w, srv, kt, code, reply := openWorld(t)
	p := kt.seal(t, "Меня били дубинкой в дежурной части.", qorgau.CategoryTorture, []string{"NPM", "OMBUDSMAN", "PROS-KZ-35"}, code, reply, "torture-1")
	res := kt.submit(t, p)
	id := strconv.FormatInt(res.Complaint, 10)
	member := consoleLogin(t, w, srv.base(), worldMember)
	colleague := consoleLogin(t, w, srv.base(), worldColleague)
	post := func(c *http.Client, action string, form url.Values) int {
		t.Helper()
		resp, err := c.PostForm(srv.base()+"/inbox/"+id+"/"+action, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var body string
	for range 50 {
		var status int
		if status, body = getPage(t, member, srv.base()+"/inbox/"+id); status == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `action="/inbox/`+id+`/code"`) {
		t.Fatal("no coding form on the complaint page")
	}
	coding := url.Values{"kind": {"complaint"}, "category": {"torture"}, "torture": {"1"}, "zone": {"DUTY"}, "named": {"дежурный наряд"}}
	if st := post(member, "code", coding); st != http.StatusSeeOther {
		t.Fatalf("coding = %d", st)
	}
	coding.Del("torture")
	if st := post(member, "code", coding); st != http.StatusForbidden {
		t.Errorf("clearing the flag through the coding form = %d, want 403", st)
	}
	if st := post(member, "clear-flag", url.Values{"reason": {"x"}}); st != http.StatusBadRequest {
		t.Errorf("asking to clear without a reason = %d, want 400", st)
	}
	if st := post(member, "clear-flag", url.Values{"reason": {"медицинское заключение не подтвердило травм"}}); st != http.StatusSeeOther {
		t.Fatalf("asking to clear = %d", st)
	}
	if st := post(member, "approve-clear", nil); st != http.StatusForbidden {
		t.Errorf("approving one's own request = %d, want 403", st)
	}
	if st := post(colleague, "approve-clear", nil); st != http.StatusSeeOther {
		t.Fatalf("the colleague's approval = %d", st)
	}
	if _, body = getPage(t, member, srv.base()+"/inbox/"+id); !strings.Contains(body, `<input type="checkbox" name="torture" value="1">`) {
		t.Error("after the second approval the coding form does not offer the flag as an unchecked box")
	}
	// Assigning: not to a member the complaint names; to a colleague, whose
	// "assigned to me" filter then shows it.
	coding.Set("named", "следователь "+worldColleague)
	if st := post(member, "code", coding); st != http.StatusSeeOther {
		t.Fatalf("recoding = %d", st)
	}
	if st := post(member, "assign", url.Values{"member": {worldColleague}}); st != http.StatusForbidden {
		t.Errorf("assigning to a member the complaint names = %d, want 403", st)
	}
	coding.Set("named", "дежурный наряд")
	post(member, "code", coding)
	if st := post(member, "assign", url.Values{"member": {worldColleague}}); st != http.StatusSeeOther {
		t.Fatalf("assigning = %d", st)
	}
	if _, body = getPage(t, colleague, srv.base()+"/inbox?mine=1"); !strings.Contains(body, `href="/inbox/`+id+`"`) {
		t.Error("the colleague's inbox filtered to their complaints lacks the assigned one")
	}
	if _, body = getPage(t, member, srv.base()+"/inbox?mine=1"); strings.Contains(body, `href="/inbox/`+id+`"`) {
		t.Error("the member's own filter shows a complaint assigned to someone else")
	}
	if st, _ := getPage(t, member, srv.base()+"/inbox?state=nonsense"); st != http.StatusBadRequest {
		t.Errorf("an unknown state filter = %d, want 400", st)
	}

	srv.kill()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var torture bool
	db.QueryRow(`SELECT torture FROM complaint_codings WHERE complaint = $1 AND body = 'PROS-KZ-35'`, id).Scan(&torture)
	var approver string
	db.QueryRow(`SELECT actor FROM audit_log WHERE action = 'torture.flag.cleared'`).Scan(&approver)
	if torture || approver != worldColleague {
		t.Errorf("after approval torture = %v, cleared by %q; want false, by %s", torture, approver, worldColleague)
	}
	// The reason is the member's words about the complaint: the audit log,
	// which administrators and auditors read, keeps only its digest.
	var detail string
	db.QueryRow(`SELECT detail FROM audit_log WHERE action = 'torture.flag.clear.requested'`).Scan(&detail)
	sum := sha256.Sum256([]byte("медицинское заключение не подтвердило травм"))
	if detail != "reason sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("the audit record of the clearing request says %q, want only the reason's SHA-256", detail)
	}
}

// TestStaffAPI reads and answers a complaint through /api/v1 with a
// session, and checks the same permissions as the console.
func TestStaffAPI(t *testing.T) {
	w, srv, kt, code, reply := openWorld(t)
	const text = "Нет горячей воды третий месяц."
	p := kt.seal(t, text, qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "api-1")
	res := kt.submit(t, p)
	id := strconv.FormatInt(res.Complaint, 10)
	member := consoleLogin(t, w, srv.base(), worldMember)
	var inbox struct {
		Complaints []struct {
			ID       int64 `json:"id"`
			DaysLeft int   `json:"working_days_left"`
		} `json:"complaints"`
	}
	for range 50 {
		status, body := getPage(t, member, srv.base()+"/api/v1/inbox")
		if status != 200 {
			t.Fatalf("GET /api/v1/inbox = %d %s", status, body)
		}
		if json.Unmarshal([]byte(body), &inbox); len(inbox.Complaints) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(inbox.Complaints) != 1 || inbox.Complaints[0].ID != res.Complaint || inbox.Complaints[0].DaysLeft != 15 {
		t.Fatalf("API inbox = %+v, want the complaint with 15 working days left", inbox)
	}
	status, body := getPage(t, member, srv.base()+"/api/v1/complaints/"+id)
	var got struct {
		State    string `json:"state"`
		Document struct {
			Text string `json:"text"`
		} `json:"document"`
	}
	json.Unmarshal([]byte(body), &got)
	if status != 200 || got.Document.Text != text || got.State != "registered" {
		t.Fatalf("GET /api/v1/complaints/%s = %d %+v", id, status, got)
	}
	post := func(c *http.Client, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.base()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := post(member, "/api/v1/complaints/"+id+"/reply", "text/plain", "x"); st != http.StatusUnsupportedMediaType || !strings.Contains(b, `"error"`) {
		t.Errorf("reply as text/plain = %d %s, want 415 JSON", st, b)
	}
	if st, b := post(member, "/api/v1/complaints/"+id+"/reply", "application/json", `{"text":"Проверка назначена."}`); st != 200 || !strings.Contains(b, `"state":"answered"`) {
		t.Fatalf("reply = %d %s", st, b)
	}
	if st, b := post(member, "/api/v1/complaints/"+id+"/close", "application/json", `{"outcome":"maybe"}`); st != http.StatusBadRequest {
		t.Errorf("close with a bad outcome = %d %s, want 400", st, b)
	}
	outsider := consoleLogin(t, w, srv.base(), worldOutsider)
	if st, b := getPage(t, outsider, srv.base()+"/api/v1/complaints/"+id); st != http.StatusNotFound || strings.Contains(b, "воды") {
		t.Errorf("another body's member = %d, want 404", st)
	}
	admin := consoleLogin(t, w, srv.base(), "admin")
	if st, _ := getPage(t, admin, srv.base()+"/api/v1/inbox"); st != http.StatusForbidden {
		t.Errorf("admin API inbox = %d, want 403", st)
	}
	if st, b := getPage(t, &http.Client{}, srv.base()+"/api/v1/inbox"); st != http.StatusUnauthorized || !strings.Contains(b, `"error":"unauthorized"`) {
		t.Errorf("anonymous API inbox = %d %s, want 401 JSON", st, b)
	}
	if st, b := getPage(t, &http.Client{}, srv.base()+"/api/v1/openapi.json"); st != 200 || !strings.Contains(b, `"/api/v1/complaints/{id}/reply"`) {
		t.Errorf("openapi.json = %d", st)
	}
}

// TestVoice files a complaint with a voice recording and plays it in the
// console: the page offers an audio player, and the recording comes back
// as sent, uncached.
func TestVoice(t *testing.T) {
	w, srv, kt, _, reply := openWorld(t)
	voice := []byte("OggS\x00fake-opus-frames")
	to, err := kt.dir.Recipients("PROS-KZ-35")
	if err != nil {
		t.Fatal(err)
	}
	doc := &seal.Document{V: seal.DocumentVersion, Kind: seal.KindComplaint, Category: string(qorgau.CategoryMedical), Lang: "kk",
		Facility: kt.enrol.Facility, Bodies: []string{"PROS-KZ-35"}, Written: time.Now().UTC().Truncate(time.Second),
		Voice: &seal.Voice{Type: "audio/ogg; codecs=opus", Data: voice}}
	env, err := seal.Seal(doc, to, kt.Key, kt.DeviceID, "voice-1", seal.Options{Reply: reply})
	if err != nil {
		t.Fatal(err)
	}
	res, err := kt.Submit(context.Background(), env.Marshal(), kiosk.Routing{Bodies: []string{"PROS-KZ-35"}, Category: qorgau.CategoryMedical, LookupID: reply.LookupID})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(res.Complaint, 10)
	member := consoleLogin(t, w, srv.base(), worldMember)
	var body string
	for range 50 {
		var st int
		if st, body = getPage(t, member, srv.base()+"/inbox/"+id); st == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `<audio controls preload="none" src="/inbox/`+id+`/voice">`) {
		t.Fatal("the complaint page has no audio player")
	}
	resp, err := member.Get(srv.base() + "/inbox/" + id + "/voice")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != string(voice) || resp.Header.Get("Content-Type") != "audio/ogg; codecs=opus" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("voice = %d %q %q %q", resp.StatusCode, got, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	outsider := consoleLogin(t, w, srv.base(), worldOutsider)
	if st, _ := getPage(t, outsider, srv.base()+"/inbox/"+id+"/voice"); st != http.StatusNotFound {
		t.Errorf("another body's member playing it = %d, want 404", st)
	}
}

// openWorld starts a server on a new world, enrols terminal T-1, and derives
// a receipt code's reply key for it.
func openWorld(t *testing.T) (*world, *server, *kioskTerminal, string, *seal.ReplyKey) {
	t.Helper()
	w := newWorld(t, 1)
	srv := startServe(t, w.dir)
	kt := w.enroll(t, srv.base(), "T-1")
	code, reply := kt.newCode(t)
	return w, srv, kt, code, reply
}
