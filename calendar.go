package qorgau

import (
	"sort"
	"time"
)

// Calendar tells working days from days off: weekends and public holidays.
// Statutory clocks ("15 working days from receipt") count on it. Dates are
// calendar days in the deployment's time zone.
type Calendar struct {
	// Location is the time zone the days are counted in; nil means UTC.
	Location *time.Location
	// Holidays are the days off besides weekends, keyed by "2006-01-02".
	Holidays map[string]string // date → name
	// Workdays are weekend days declared working days by a transfer of
	// days off (the government moves them), keyed the same way.
	Workdays map[string]string
}

// Holiday is one day off, or one declared working day, of a calendar.
type Holiday struct {
	Date    time.Time // midnight, in the calendar's location
	Name    string
	Working bool // a weekend day that is a working day
}

// Validate returns EINVALID if the holiday has no name.
func (h *Holiday) Validate() error {
	if h.Date.IsZero() {
		return Errorf(EINVALID, "holiday date is required")
	}
	return checkName("holiday name", h.Name)
}

// NewCalendar returns a calendar with the given days in loc.
func NewCalendar(loc *time.Location, days []Holiday) *Calendar {
	c := &Calendar{Location: loc, Holidays: map[string]string{}, Workdays: map[string]string{}}
	for _, h := range days {
		if h.Working {
			c.Workdays[dayKey(h.Date)] = h.Name
		} else {
			c.Holidays[dayKey(h.Date)] = h.Name
		}
	}
	return c
}

func dayKey(t time.Time) string { return t.Format("2006-01-02") }

func (c *Calendar) loc() *time.Location {
	if c == nil || c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// IsWorkingDay reports whether the calendar day of t is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	t = t.In(c.loc())
	k := dayKey(t)
	if c != nil {
		if _, ok := c.Workdays[k]; ok {
			return true
		}
		if _, ok := c.Holidays[k]; ok {
			return false
		}
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// midnight returns the start of t's calendar day in the calendar's zone.
func (c *Calendar) midnight(t time.Time) time.Time {
	t = t.In(c.loc())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.loc())
}

// AddWorkingDays returns the end of the n-th working day after the day of
// from: the moment a term of n working days that starts on from expires.
// The day of from itself does not count, as in the law's "within N working
// days from receipt". n must be positive.
func (c *Calendar) AddWorkingDays(from time.Time, n int) time.Time {
	d := c.midnight(from)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d.AddDate(0, 0, 1) // the end of that day
}

// WorkingDaysBetween counts the working days after the day of from up to
// and including the day of to; 0 if to is on or before from's day.
func (c *Calendar) WorkingDaysBetween(from, to time.Time) int {
	d, end := c.midnight(from), c.midnight(to)
	n := 0
	for d.Before(end) {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// List returns the calendar's days, holidays and declared working days,
// in date order.
func (c *Calendar) List() []Holiday {
	var out []Holiday
	for _, set := range []struct {
		m       map[string]string
		working bool
	}{{c.Holidays, false}, {c.Workdays, true}} {
		for k, name := range set.m {
			d, err := time.ParseInLocation("2006-01-02", k, c.loc())
			if err == nil {
				out = append(out, Holiday{Date: d, Name: name, Working: set.working})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// kazakhstanFixed are Kazakhstan's public holidays with fixed dates (Law on
// Holidays, 2001, as amended). Kurban Ait, a day off whose date follows the
// lunar calendar, and the government's yearly transfers of days off are not
// fixed: the operator imports them with `qorgau admin holidays import`.
var kazakhstanFixed = []struct {
	month time.Month
	day   int
	name  string
}{
	{time.January, 1, "Жаңа жыл / Новый год"},
	{time.January, 2, "Жаңа жыл / Новый год"},
	{time.January, 7, "Православное Рождество"},
	{time.March, 8, "Халықаралық әйелдер күні / Международный женский день"},
	{time.March, 21, "Наурыз мейрамы"},
	{time.March, 22, "Наурыз мейрамы"},
	{time.March, 23, "Наурыз мейрамы"},
	{time.May, 1, "Қазақстан халқының бірлігі мерекесі / Праздник единства народа Казахстана"},
	{time.May, 7, "Отан қорғаушы күні / День защитника Отечества"},
	{time.May, 9, "Жеңіс күні / День Победы"},
	{time.July, 6, "Астана күні / День столицы"},
	{time.August, 30, "Конституция күні / День Конституции"},
	{time.October, 25, "Республика күні / День Республики"},
	{time.December, 16, "Тәуелсіздік күні / День Независимости"},
}

// KazakhstanHolidays returns Kazakhstan's fixed public holidays for the
// given years, with the legal carry-over: a holiday that falls on a weekend
// moves the day off to the next working day (Labour Code, art. 85), except
// the religious holidays, which do not carry over.
func KazakhstanHolidays(loc *time.Location, years ...int) []Holiday {
	if loc == nil {
		loc = time.UTC
	}
	var out []Holiday
	for _, y := range years {
		taken := map[string]bool{}
		for _, h := range kazakhstanFixed {
			d := time.Date(y, h.month, h.day, 0, 0, 0, 0, loc)
			out = append(out, Holiday{Date: d, Name: h.name})
			taken[dayKey(d)] = true
		}
		for _, h := range kazakhstanFixed {
			d := time.Date(y, h.month, h.day, 0, 0, 0, 0, loc)
			if h.month == time.January && h.day == 7 {
				continue // religious: no carry-over
			}
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				continue
			}
			next := d.AddDate(0, 0, 1)
			for next.Weekday() == time.Saturday || next.Weekday() == time.Sunday || taken[dayKey(next)] {
				next = next.AddDate(0, 0, 1)
			}
			taken[dayKey(next)] = true
			out = append(out, Holiday{Date: next, Name: "перенос: " + h.name})
		}
	}
	return out
}
