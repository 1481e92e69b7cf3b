package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// smallCount is the smallest count published as a number: smaller ones
// (but zero) show as "<5", so that a count cannot point at a person in a
// small facility.
const smallCount = 5

// shown returns n as published.
func shown(n int) string {
	if n > 0 && n < smallCount {
		return "<" + strconv.Itoa(smallCount)
	}
	return strconv.Itoa(n)
}

// statLine is one row of a published table.
type statLine struct {
	Key                      string
	Total, Answered, Overdue string
}

type statTables struct {
	ByCategory []statLine
	ByFacility []statLine
	ByBody     []statLine
	Total      string
}

// tabulate sums the rows by category, facility and body.
func tabulate(rows []store.StatRow) statTables {
	type sums struct{ total, answered, overdue int }
	add := func(m map[string]*sums, k string, r store.StatRow) {
		s := m[k]
		if s == nil {
			s = &sums{}
			m[k] = s
		}
		s.total += r.Count
		switch r.State {
		case qorgau.StateAnswered, qorgau.StateAnswerDelivered, qorgau.StateClosed:
			s.answered += r.Count
		}
		if r.Overdue {
			s.overdue += r.Count
		}
	}
	byCat, byFac, byBody := map[string]*sums{}, map[string]*sums{}, map[string]*sums{}
	total := 0
	for _, r := range rows {
		add(byCat, string(r.Category), r)
		add(byFac, r.Facility, r)
		add(byBody, r.Body, r)
		total += r.Count
	}
	lines := func(m map[string]*sums) []statLine {
		var out []statLine
		for k, s := range m {
			out = append(out, statLine{k, shown(s.total), shown(s.answered), shown(s.overdue)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	}
	return statTables{lines(byCat), lines(byFac), lines(byBody), shown(total)}
}

// stats is the public statistics page: counts of complaints (each body's
// copy counted once) by category, facility and body, with how many were
// answered and how many missed their term. No content, no small numbers.
func (s *Server) stats(w http.ResponseWriter, r *request) error {
	rows, err := s.db.ComplaintStats(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	return s.render(w, r, http.StatusOK, "stats", "stats.title", tabulate(rows))
}

// statsCSV is the same as CSV, one line per category, facility and body.
func (s *Server) statsCSV(w http.ResponseWriter, r *request) error {
	rows, err := s.db.ComplaintStats(r.Context())
	if err != nil {
		return err
	}
	t := tabulate(rows)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="qorgau-statistics.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"dimension", "key", "complaints", "answered", "overdue"})
	for _, set := range []struct {
		name  string
		lines []statLine
	}{{"category", t.ByCategory}, {"facility", t.ByFacility}, {"body", t.ByBody}} {
		for _, l := range set.lines {
			cw.Write([]string{set.name, l.Key, l.Total, l.Answered, l.Overdue})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("statistics CSV: %w", err)
	}
	return nil
}
