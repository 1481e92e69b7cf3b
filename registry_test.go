package qorgau

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := Facility{Code: "EC-166-1", Name: "Colony", Region: "KZ-35", Type: ColonyMedium, Authority: "KUIS", Capacity: 10, Population: 9}
	tests := []struct {
		name    string
		v       interface{ Validate() error }
		wantErr string
	}{
		{"good facility", &good, ""},
		{"facility bad code", &Facility{Code: "EC 166", Name: "x", Region: "KZ-35", Type: ColonyMedium, Authority: "a"}, "facility code"},
		{"facility bad type", &Facility{Code: "A", Name: "x", Region: "KZ-35", Type: "prison", Authority: "a"}, "facility type"},
		{"facility negative population", &Facility{Code: "A", Name: "x", Region: "KZ-35", Type: ColonyMedium, Authority: "a", Population: -1}, "population"},
		{"good zone", &Zone{Facility: "A", Code: "B1", Name: "Block", Kind: ZoneCellBlock}, ""},
		{"zone bad kind", &Zone{Facility: "A", Code: "B1", Name: "Block", Kind: "cellar"}, "zone kind"},
		{"zone no name", &Zone{Facility: "A", Code: "B1", Name: " ", Kind: ZoneOther}, "zone name"},
		{"good device", &Device{ID: "C-1", Kind: DeviceCamera, Facility: "A", Interval: 30}, ""},
		{"device zero interval", &Device{ID: "C-1", Kind: DeviceCamera, Facility: "A"}, "interval"},
		{"device bad kind", &Device{ID: "C-1", Kind: "drone", Facility: "A", Interval: 30}, "device kind"},
		{"good body", &Body{Code: "NPM", Kind: BodyNPM, NameKK: "a", NameRU: "b", NameEN: "c"}, ""},
		{"body missing Kazakh name", &Body{Code: "NPM", Kind: BodyNPM, NameRU: "b", NameEN: "c"}, "Kazakh name"},
		{"good member", &User{Name: "aigerim", Role: RoleMember, Body: "NPM"}, ""},
		{"member without body", &User{Name: "aigerim", Role: RoleMember}, "body"},
		{"liaison without facility", &User{Name: "ops", Role: RoleLiaison}, "facility"},
		{"auditor with facility", &User{Name: "ops", Role: RoleAuditor, Facility: "A"}, "neither"},
		{"unknown role", &User{Name: "ops", Role: "root"}, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.wantErr) {
				t.Errorf("Validate() = %v, want EINVALID mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuditHash(t *testing.T) {
	r := AuditRecord{Seq: 1, At: time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC), Actor: "a", Action: AuditLogin, Target: "t", PrevHash: GenesisHash}
	h := r.ComputeHash()
	if len(h) != 64 {
		t.Fatalf("ComputeHash = %q, want 64 hex digits", h)
	}
	// Moving a byte from one field to the next must change the hash: fields
	// are length-prefixed.
	r2 := r
	r2.Actor, r2.Action = "a"+AuditLogin[:1], AuditLogin[1:]
	if r2.ComputeHash() == h {
		t.Error("shifting bytes between fields keeps the hash")
	}
	r3 := r
	r3.At = r.At.In(time.FixedZone("UTC+5", 5*3600))
	if r3.ComputeHash() != h {
		t.Error("the same instant in another zone changes the hash")
	}
	r4 := r
	r4.Seq = 2
	if r4.ComputeHash() == h {
		t.Error("the sequence number is not in the hash")
	}
}

func TestErrorHelpers(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorMessage(nil) != "" {
		t.Error("nil error has a code or message")
	}
	e := Errorf(ENOTFOUND, "facility %q not found", "X")
	if ErrorCode(e) != ENOTFOUND || ErrorMessage(e) != `facility "X" not found` {
		t.Errorf("Errorf = %v", e)
	}
	other := strings.NewReader("").UnreadByte()
	if ErrorCode(other) != EINTERNAL || ErrorMessage(other) != "internal error" {
		t.Errorf("a foreign error maps to %q %q, want internal", ErrorCode(other), ErrorMessage(other))
	}
}

func TestComplaintTransitions(t *testing.T) {
	tests := []struct {
		from, to ComplaintState
		want     bool
	}{
		{StateFiled, StateDelivered, true},
		{StateFiled, StateAnswered, false},
		{StateDelivered, StateRegistered, true},
		{StateUnderReview, StateAnswered, true},
		{StateAnswered, StateAnswerDelivered, true},
		{StateClosed, StateUnderReview, false},
		{StateAnswerDelivered, StateFiled, false},
	}
	for _, tt := range tests {
		if got := tt.from.CanBecome(tt.to); got != tt.want {
			t.Errorf("%s.CanBecome(%s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	// Every state but closed has a way forward, and every target is a state.
	for _, s := range ComplaintStates {
		if s != StateClosed && len(transitions[s]) == 0 {
			t.Errorf("state %s is a dead end", s)
		}
		for _, to := range transitions[s] {
			if !slices.Contains(ComplaintStates, to) {
				t.Errorf("state %s moves to unknown %s", s, to)
			}
		}
	}
}

func TestRules(t *testing.T) {
	r := KazakhstanRules()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	cal := NewCalendar(time.UTC, KazakhstanHolidays(time.UTC, 2026))
	delivered := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if due := r.Due(cal, delivered); !due.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Due = %s, want the end of 23 Nov 2026", due)
	}
	bad := r
	bad.UrgentBodies = []BodyKind{"police"}
	if bad.Validate() == nil {
		t.Error("Validate accepts an unknown urgent body kind")
	}
}
