package qorgau

import (
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

func TestCalendarWorkingDays(t *testing.T) {
	cal := NewCalendar(time.UTC, KazakhstanHolidays(time.UTC, 2026))
	tests := []struct {
		name string
		from time.Time
		n    int
		want time.Time // the day the term ends (at its end)
	}{
		// Monday 2 Nov 2026 + 15 working days: 3–6, 9–13, 16–20 Nov, then 23 Nov.
		{"plain weeks", date(2026, 11, 2), 15, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		// Friday 13 Mar + 5: Mon 16 … Fri 20 is 5; but Nauryz 21–23 Mar is after.
		{"before Nauryz", date(2026, 3, 13), 5, time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC)},
		// Friday 20 Mar + 1: Sat 21, Sun 22, Mon 23 Nauryz, Tue 24 carry-over of
		// Sat 21, Wed 25 carry-over of Sun 22 → Thu 26.
		{"over Nauryz with carry-over", date(2026, 3, 20), 1, time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)},
		// Tuesday 15 Dec + 1: Wed 16 Dec is Independence Day → Thu 17.
		{"over Independence Day", date(2026, 12, 15), 1, time.Date(2026, 12, 18, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cal.AddWorkingDays(tt.from, tt.n); !got.Equal(tt.want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from.Format("Mon 2 Jan"), tt.n, got.Format("Mon 2 Jan 15:04"), tt.want.Format("Mon 2 Jan 15:04"))
			}
			if got := cal.WorkingDaysBetween(tt.from, tt.want.Add(-time.Hour)); got != tt.n {
				t.Errorf("WorkingDaysBetween up to the last day = %d, want %d", got, tt.n)
			}
		})
	}
}

func TestCalendarDeclaredWorkday(t *testing.T) {
	// A Saturday the government declared a working day.
	sat := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	cal := NewCalendar(time.UTC, []Holiday{{Date: sat, Name: "transfer", Working: true}})
	if !cal.IsWorkingDay(sat) {
		t.Error("declared working Saturday is not a working day")
	}
	if cal.IsWorkingDay(sat.AddDate(0, 0, 1)) {
		t.Error("Sunday is a working day")
	}
	if n := len(cal.List()); n != 1 {
		t.Errorf("List = %d days, want 1", n)
	}
}

func TestCalendarTimeZone(t *testing.T) {
	almaty := time.FixedZone("UTC+5", 5*3600)
	cal := NewCalendar(almaty, nil)
	// 20:00 UTC on Friday is already Saturday 01:00 in Almaty.
	fri := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)
	if cal.IsWorkingDay(fri) {
		t.Error("Friday 20:00 UTC counted as a working day in UTC+5, where it is Saturday")
	}
}

func TestKazakhstanCarryOver(t *testing.T) {
	// 2027: 9 May is a Sunday → Monday 10 May off; 7 Jan (religious) on a
	// Thursday; 6 Jul Tuesday.
	cal := NewCalendar(time.UTC, KazakhstanHolidays(time.UTC, 2027))
	if cal.IsWorkingDay(time.Date(2027, 5, 10, 12, 0, 0, 0, time.UTC)) {
		t.Error("10 May 2027 (carry-over of Victory Day on Sunday) is a working day")
	}
	if !cal.IsWorkingDay(time.Date(2027, 5, 11, 12, 0, 0, 0, time.UTC)) {
		t.Error("11 May 2027 is a day off")
	}
}
