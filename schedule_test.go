package qorgau

import (
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"24/7", "24/7", false},
		{"", "24/7", false},
		{"08:00-20:00", "08:00-20:00", false},
		{" 08:00 - 13:00 , 14:00-20:00 ", "08:00-13:00,14:00-20:00", false},
		{"20:00-08:00", "20:00-08:00", false},
		{"00:00-24:00", "00:00-24:00", false},
		{"8-20", "", true},
		{"08:00", "", true},
		{"08:00-08:00", "", true},
		{"25:00-26:00", "", true},
		{"08:00-13:00,12:00-20:00", "", true},
		{"20:00-08:00,07:00-09:00", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseSchedule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSchedule(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if ErrorCode(err) != EINVALID {
					t.Errorf("ParseSchedule(%q) error code = %q, want EINVALID", tt.in, ErrorCode(err))
				}
				return
			}
			if got := s.String(); got != tt.want {
				t.Errorf("ParseSchedule(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := ParseSchedule(s.String())
			if err != nil || again.String() != s.String() {
				t.Errorf("round trip of %q = %q, %v", s, again, err)
			}
		})
	}
}

func TestScheduleContains(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	office, _ := ParseSchedule("08:00-20:00")
	night, _ := ParseSchedule("20:00-08:00")
	tests := []struct {
		s    Schedule
		t    time.Time
		want bool
	}{
		{office, day(8, 0), true},
		{office, day(19, 59), true},
		{office, day(20, 0), false},
		{office, day(7, 59), false},
		{night, day(23, 0), true},
		{night, day(3, 0), true},
		{night, day(12, 0), false},
		{AlwaysRequired, day(3, 0), true},
	}
	for _, tt := range tests {
		if got := tt.s.Contains(tt.t); got != tt.want {
			t.Errorf("%s.Contains(%s) = %v, want %v", tt.s, tt.t.Format("15:04"), got, tt.want)
		}
	}
	if office.IsAlways() || !AlwaysRequired.IsAlways() {
		t.Errorf("IsAlways: office %v, always %v", office.IsAlways(), AlwaysRequired.IsAlways())
	}
}
