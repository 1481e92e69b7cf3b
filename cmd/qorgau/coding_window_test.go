package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
)

// TestIncidentWindow codes a complaint's incident time window in the
// console, in local time (UTC+5), reads it back through the staff API in
// UTC, and changes it through the API; an inverted window is refused.
func TestIncidentWindow(t *testing.T) {
	w, srv, kt, code, reply := openWorld(t)
	p := kt.seal(t, "Ночью в коридоре отобрали передачу.", qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "window-1")
	res := kt.submit(t, p)
	id := strconv.FormatInt(res.Complaint, 10)
	member := consoleLogin(t, w, srv.base(), worldMember)
	var status int
	for range 100 {
		if status, _ = getPage(t, member, srv.base()+"/inbox/"+id); status == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := member.PostForm(srv.base()+"/inbox/"+id+"/code", url.Values{"kind": {"complaint"}, "category": {"violence-staff"},
		"incident_from": {"2026-11-12T22:00"}, "incident_to": {"2026-11-13T02:30"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("coding with a window = %d", resp.StatusCode)
	}
	if _, body := getPage(t, member, srv.base()+"/inbox/"+id); !strings.Contains(body, `value="2026-11-12T22:00"`) || !strings.Contains(body, `value="2026-11-13T02:30"`) {
		t.Error("the complaint page does not show the window as typed, in local time")
	}
	coding := func() (from, to *time.Time) {
		t.Helper()
		_, body := getPage(t, member, srv.base()+"/api/v1/complaints/"+id)
		var got struct {
			Coding *struct {
				From *time.Time `json:"incident_from"`
				To   *time.Time `json:"incident_to"`
			} `json:"coding"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || got.Coding == nil {
			t.Fatalf("GET /api/v1/complaints/%s has no coding: %v %s", id, err, body)
		}
		return got.Coding.From, got.Coding.To
	}
	from, to := coding()
	if from == nil || to == nil || !from.Equal(time.Date(2026, 11, 12, 17, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 11, 12, 21, 30, 0, 0, time.UTC)) {
		t.Errorf("API window = %v – %v, want 17:00Z – 21:30Z on 12 November", from, to)
	}
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.base()+"/api/v1/complaints/"+id+"/code", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := member.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := post(`{"kind":"complaint","category":"violence-staff","incident_from":"2026-11-14","incident_to":"2026-11-13"}`); st != http.StatusBadRequest {
		t.Errorf("an inverted window = %d %s, want 400", st, b)
	}
	if st, b := post(`{"kind":"complaint","category":"violence-staff","incident_from":"yesterday"}`); st != http.StatusBadRequest {
		t.Errorf("a window in words = %d %s, want 400", st, b)
	}
	if f2, t2 := coding(); !f2.Equal(*from) || !t2.Equal(*to) {
		t.Error("refused codings changed the window")
	}
	if st, b := post(`{"kind":"complaint","category":"violence-staff","incident_from":"2026-11-12","incident_to":"2026-11-12"}`); st != 200 || !strings.Contains(b, `"incident_from":"2026-11-11T19:00:00Z"`) {
		t.Errorf("coding whole days through the API = %d %s, want the day from its local midnight", st, b)
	}
	if _, to = coding(); to == nil || !to.Equal(time.Date(2026, 11, 12, 18, 59, 0, 0, time.UTC)) {
		t.Errorf("a date as the end = %v, want the end of that local day", to)
	}
}
