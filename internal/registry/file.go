package registry

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"qorgau.kz/qorgau"
)

// Problem is one thing wrong with an import file.
type Problem struct {
	Line    int    // 1-based line, counted as an editor counts them; the header is line 1
	Column  string // the column's name as the header spells it, or "" for the whole row
	Message string
}

// String returns the problem as "line 12, column kind: message", or
// "line 12: message" when it concerns the whole row.
func (p Problem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return fmt.Sprintf("line %d, column %s: %s", p.Line, p.Column, p.Message)
}

// Problems is every problem found in an import file, in line order. Import
// returns it as its error when the file has any problem, and has then
// written nothing. It unwraps to an EINVALID *qorgau.Error, so that
// qorgau.ErrorCode reports it as the caller's mistake.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	var sb strings.Builder
	for i, p := range ps {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(p.String())
	}
	return sb.String()
}

// Unwrap returns an EINVALID error that counts the problems.
func (ps Problems) Unwrap() error {
	if len(ps) == 1 {
		return qorgau.Errorf(qorgau.EINVALID, "the file has a problem: %s", ps[0])
	}
	return qorgau.Errorf(qorgau.EINVALID, "the file has %d problems", len(ps))
}

// file is a CSV file read against a header: its data rows and the problems
// found so far.
type file struct {
	columns  []string
	rows     []row
	problems Problems
}

// row is one data record, its fields trimmed and in canonical column order.
type row struct {
	f     *file
	vals  []string
	lines []int // the line where each field starts
	bad   bool  // a problem has been reported for this row
}

var bom = []byte("\xEF\xBB\xBF")

// readFile reads CSV from r whose header must name exactly columns, in any
// order. It collects bad CSV syntax, header problems and rows with the wrong
// number of fields in the file's problems; when the header is wrong it reads
// no rows. It returns an error only when r fails.
func readFile(r io.Reader, columns []string) (*file, error) {
	f := &file{columns: columns}
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(len(bom)); slices.Equal(b, bom) {
		br.Discard(len(bom))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true

	var order []int // file field i holds canonical column order[i]
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			msg := fmt.Sprintf("bad CSV: %v at byte %d", perr.Err, perr.Column)
			if perr.Line != perr.StartLine {
				msg = fmt.Sprintf("bad CSV: %v on line %d, in a record that starts here", perr.Err, perr.Line)
			}
			f.problems = append(f.problems, Problem{Line: perr.StartLine, Message: msg})
			if order == nil {
				return f, nil // without a header the rows mean nothing
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		blank := true
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
			blank = blank && rec[i] == ""
		}
		if blank {
			continue
		}
		line, _ := cr.FieldPos(0)
		if order == nil {
			if order = f.readHeader(cr, rec); order == nil {
				return f, nil
			}
			continue
		}
		if len(rec) != len(order) {
			f.problems = append(f.problems, Problem{Line: line,
				Message: fmt.Sprintf("has %d fields, want %d as in the header", len(rec), len(order))})
			continue
		}
		rw := row{f: f, vals: make([]string, len(columns)), lines: make([]int, len(columns))}
		for i, v := range rec {
			rw.vals[order[i]] = v
			rw.lines[order[i]], _ = cr.FieldPos(i)
		}
		f.rows = append(f.rows, rw)
	}
	if order == nil && len(f.problems) == 0 {
		f.problems = append(f.problems, Problem{Line: 1,
			Message: "the file is empty; want a header row " + strings.Join(columns, ",")})
	}
	return f, nil
}

// readHeader matches the header rec against f.columns and returns where each
// field of a row goes, or nil after reporting what is wrong.
func (f *file) readHeader(cr *csv.Reader, rec []string) []int {
	order := make([]int, len(rec))
	seen := make(map[string]bool, len(rec))
	n := len(f.problems)
	for i, name := range rec {
		line, _ := cr.FieldPos(i)
		j := slices.Index(f.columns, name)
		switch {
		case name == "":
			f.problems = append(f.problems, Problem{Line: line,
				Message: fmt.Sprintf("field %d of the header is empty; want columns %s", i+1, strings.Join(f.columns, ","))})
		case j < 0:
			f.problems = append(f.problems, Problem{Line: line, Column: name,
				Message: "unknown column; want columns " + strings.Join(f.columns, ",")})
		case seen[name]:
			f.problems = append(f.problems, Problem{Line: line, Column: name, Message: "column is named twice"})
		default:
			seen[name] = true
			order[i] = j
		}
	}
	line, _ := cr.FieldPos(0)
	for _, c := range f.columns {
		if !seen[c] {
			f.problems = append(f.problems, Problem{Line: line, Column: c, Message: "column is missing"})
		}
	}
	if len(f.problems) > n {
		return nil
	}
	return order
}

func (r *row) index(col string) int {
	i := slices.Index(r.f.columns, col)
	if i < 0 {
		panic("registry: no column " + col)
	}
	return i
}

// line returns the line where col starts, or where the row starts for "".
func (r *row) line(col string) int {
	if col == "" {
		return slices.Min(r.lines)
	}
	return r.lines[r.index(col)]
}

// problem reports what is wrong with col, or with the whole row for "".
func (r *row) problem(col, format string, args ...any) {
	r.bad = true
	r.f.problems = append(r.f.problems, Problem{Line: r.line(col), Column: col, Message: fmt.Sprintf(format, args...)})
}

// text returns the field col, which may be empty.
func (r *row) text(col string) string { return r.vals[r.index(col)] }

// required returns the field col and reports it if it is empty.
func (r *row) required(col string) string {
	v := r.text(col)
	if v == "" {
		r.problem(col, "must not be empty")
	}
	return v
}

// code returns the field col and reports it unless it is a registry code.
func (r *row) code(col string) string {
	v := r.required(col)
	if v != "" && !qorgau.ValidCode(v) {
		r.problem(col, "%q is not a code: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", v)
	}
	return v
}

// number returns the field col as a whole number and reports it unless it
// is one between lo and hi.
func (r *row) number(col string, lo, hi int) int {
	v := r.required(col)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		r.problem(col, "%q is not a whole number", v)
	case n < lo && hi == math.MaxInt:
		r.problem(col, "must be %d or more, not %d", lo, n)
	case n < lo || n > hi:
		r.problem(col, "must be between %d and %d, not %d", lo, hi, n)
	}
	return n
}

// choice returns the field col and reports it unless it is one of list;
// what names the list in the message ("device kind").
func choice[T ~string](r *row, col, what string, list []T) T {
	v := T(r.required(col))
	if v != "" && !slices.Contains(list, v) {
		r.problem(col, "%q is not a %s (%s)", v, what, joinList(list))
	}
	return v
}
