package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
)

// apiClient is a program using the staff API with a bearer token.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func apiSignIn(t *testing.T, w *world, base, name string) *apiClient {
	t.Helper()
	c := &apiClient{t: t, base: base}
	code, _ := auth.TOTPCode(w.totp[name], time.Now())
	st, out := c.call("POST", "/api/v1/session", `{"name":"`+name+`","password":"`+worldPassword+`","totp":"`+code+`"}`)
	if st != http.StatusCreated || out["token"] == nil {
		t.Fatalf("API sign-in of %s = %d %v", name, st, out)
	}
	c.token = out["token"].(string)
	return c
}

func (c *apiClient) call(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestStaffAPIActions does through the JSON API, signed in as programs
// are, what the console's complaint page does: coding, clearing a torture
// flag with a second member's approval, assignment and redirection.
func TestStaffAPIActions(t *testing.T) {
	w, srv, kt, code, reply := openWorld(t)
	const text = "Меня ударили в дежурной части, прошу проверить."
	res := kt.submit(t, kt.seal(t, text, qorgau.CategoryConditions, []string{"PROS-KZ-35"}, code, reply, "api-actions-1"))
	id := "/api/v1/complaints/" + strconv.FormatInt(res.Complaint, 10)
	member := apiSignIn(t, w, srv.base(), worldMember)
	colleague := apiSignIn(t, w, srv.base(), worldColleague)
	outsider := apiSignIn(t, w, srv.base(), worldOutsider)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, _ := member.call("GET", id, ""); st == http.StatusOK {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d: the complaint never reached the inbox", id, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	coding := func(c *apiClient) map[string]any {
		st, out := c.call("GET", id, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s = %d %v", id, st, out)
		}
		cd, _ := out["coding"].(map[string]any)
		return cd
	}
	ok := func(c *apiClient, what, path, body string) {
		t.Helper()
		if st, out := c.call("POST", id+path, body); st != http.StatusOK {
			t.Fatalf("%s = %d %v", what, st, out)
		}
	}
	refused := func(c *apiClient, what, path, body string, want int) {
		t.Helper()
		if st, out := c.call("POST", id+path, body); st != want || out["message"] == "" {
			t.Errorf("%s = %d %v, want %d with a message", what, st, out, want)
		}
	}

	ok(member, "code", "/code", `{"kind":"complaint","category":"violence-staff","torture":true,"named":""}`)
	if cd := coding(member); cd["torture"] != true {
		t.Fatalf("coding after /code = %v, want the torture flag", cd)
	}
	refused(member, "clear-flag without a reason", "/clear-flag", `{"reason":"no"}`, http.StatusBadRequest)
	ok(member, "clear-flag", "/clear-flag", `{"reason":"the person withdrew the allegation in writing"}`)
	refused(member, "approving one's own clearing", "/approve-clear", ``, http.StatusForbidden)
	if cd := coding(member); cd["torture"] != true {
		t.Fatalf("the flag went with one member's word: %v", cd)
	}
	ok(colleague, "approve-clear by a second member", "/approve-clear", ``)
	if cd := coding(member); cd["torture"] != false {
		t.Errorf("coding after the second approval = %v, want the flag cleared", cd)
	}

	refused(member, "assign to another body's member", "/assign", `{"member":"`+worldOutsider+`"}`, http.StatusBadRequest)
	ok(member, "assign to the colleague", "/assign", `{"member":"`+worldColleague+`"}`)
	refused(member, "assign with malformed JSON", "/assign", `{"member":`, http.StatusBadRequest)

	refused(outsider, "another body redirecting it", "/redirect", `{"to":"OMBUDSMAN","reason":"x"}`, http.StatusNotFound)
	refused(member, "redirect to no body", "/redirect", `{"to":"NOPE","reason":"not ours"}`, http.StatusBadRequest)
	ok(member, "redirect", "/redirect", `{"to":"OMBUDSMAN","reason":"the ombudsman is competent"}`)
	st, out := outsider.call("GET", id, "")
	doc, _ := out["document"].(map[string]any)
	if st != http.StatusOK || doc["text"] != text {
		t.Errorf("the ombudsman's copy after the redirection = %d %v, want the text sealed anew for it", st, out)
	}
	if st, out := member.call("GET", id+"/voice", ""); st != http.StatusNotFound || out["error"] != "not_found" {
		t.Errorf("voice of a written complaint = %d %v, want 404 JSON", st, out)
	}
}
