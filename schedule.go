package qorgau

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is the set of hours in a day when a device must be available,
// written as "24/7" or as comma-separated ranges "08:00-13:00,14:00-20:00".
// A range whose end is before its start runs over midnight ("20:00-08:00").
// Times are local to the facility. The zero Schedule means 24/7.
type Schedule struct {
	// Ranges in minutes since midnight, [Start, End). Empty means all day.
	Ranges []MinuteRange
}

// MinuteRange is a span of a day in minutes since midnight; End may be less
// than Start for a span that crosses midnight.
type MinuteRange struct{ Start, End int }

// AlwaysRequired is the schedule of a device that must be available at all times.
var AlwaysRequired = Schedule{}

// ParseSchedule parses "24/7" or "HH:MM-HH:MM[,HH:MM-HH:MM…]". It returns an
// EINVALID error describing what is wrong.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "24/7" || s == "" {
		return AlwaysRequired, nil
	}
	var sch Schedule
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return Schedule{}, Errorf(EINVALID, "hours %q: want 24/7 or HH:MM-HH:MM", s)
		}
		start, err := parseClock(a)
		if err != nil {
			return Schedule{}, Errorf(EINVALID, "hours %q: %s", s, err)
		}
		end, err := parseClock(b)
		if err != nil {
			return Schedule{}, Errorf(EINVALID, "hours %q: %s", s, err)
		}
		if start == end {
			return Schedule{}, Errorf(EINVALID, "hours %q: range %s is empty", s, part)
		}
		sch.Ranges = append(sch.Ranges, MinuteRange{start, end})
	}
	if sch.total() > 24*60 {
		return Schedule{}, Errorf(EINVALID, "hours %q: ranges overlap", s)
	}
	for i := 0; i < 24*60; i++ {
		n := 0
		for _, r := range sch.Ranges {
			if r.contains(i) {
				n++
			}
		}
		if n > 1 {
			return Schedule{}, Errorf(EINVALID, "hours %q: ranges overlap", s)
		}
	}
	return sch, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "24:00" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (r MinuteRange) contains(m int) bool {
	if r.Start < r.End {
		return m >= r.Start && m < r.End
	}
	return m >= r.Start || m < r.End
}

func (r MinuteRange) minutes() int {
	if r.Start < r.End {
		return r.End - r.Start
	}
	return 24*60 - r.Start + r.End
}

func (s Schedule) total() int {
	n := 0
	for _, r := range s.Ranges {
		n += r.minutes()
	}
	return n
}

// IsAlways reports whether the schedule covers the whole day.
func (s Schedule) IsAlways() bool { return len(s.Ranges) == 0 || s.total() == 24*60 }

// Contains reports whether the local time t falls in required hours.
func (s Schedule) Contains(t time.Time) bool {
	if len(s.Ranges) == 0 {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	for _, r := range s.Ranges {
		if r.contains(m) {
			return true
		}
	}
	return false
}

// String returns the canonical form that ParseSchedule accepts.
func (s Schedule) String() string {
	if len(s.Ranges) == 0 {
		return "24/7"
	}
	parts := make([]string, len(s.Ranges))
	for i, r := range s.Ranges {
		parts[i] = fmt.Sprintf("%02d:%02d-%02d:%02d", r.Start/60, r.Start%60, r.End/60, r.End%60)
	}
	return strings.Join(parts, ",")
}
