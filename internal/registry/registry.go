// Package registry imports and exports the registry of places of detention
// as CSV files: regions, facilities, zones, devices and complaint bodies.
// It backs `qorgau admin import KIND FILE.csv` and `qorgau admin export KIND`.
//
// # File format
//
// A file is UTF-8 CSV, with or without the byte order mark Excel writes. Its
// first row is a header naming exactly the columns of its kind, in any order:
//
//	regions     code,name_kk,name_ru,name_en
//	facilities  code,name,region,type,authority,capacity,population
//	zones       facility,code,name,kind
//	devices     id,kind,facility,zone,interval_seconds,required_hours
//	bodies      code,kind,region,name_kk,name_ru,name_en
//
// The first column is the key (facility and code together for zones): a
// row whose key is stored replaces the stored entry. Spaces around fields
// are ignored, and so are blank rows (rows whose every field is empty, as
// spreadsheets write them).
//
// References point into the store, never into the same file: a facility's
// region, a body's region (empty for a national body), a zone's facility and
// a device's facility and zone (empty when the device is in no zone) must
// already be stored. Import the kinds in the order regions, facilities,
// zones, devices; bodies need only regions.
//
// A device's required_hours is what [qorgau.ParseSchedule] accepts ("24/7",
// "08:00-20:00"); interval_seconds is 1 to [qorgau.MaxInterval]. Facility
// capacity and population are whole numbers, 0 or more.
//
// # Import
//
// Import is all or nothing. It reads and checks every row before it writes
// anything, and when any row is wrong it returns [Problems], every problem
// with its line and column, and leaves the store as it was. (A wrong header
// is reported alone: without it the rows cannot be read.) Otherwise it
// compares each row with what is stored and saves only new and changed rows,
// with one audit record, in one transaction. Rows that are stored but absent
// from the file are kept: an import never deletes. Importing a file twice
// writes nothing the second time, not even an audit record.
//
// Export writes every stored row of a kind in the same format, header first,
// rows sorted by key, so that importing the output changes nothing.
package registry

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Kind names one kind of registry entry and so one file format.
type Kind string

// The kinds. Each refers only to kinds before it, so a new registry is
// imported in this order.
const (
	Regions    Kind = "regions"
	Facilities Kind = "facilities"
	Zones      Kind = "zones"
	Devices    Kind = "devices"
	Bodies     Kind = "bodies"
)

// Kinds lists every kind in import order.
var Kinds = []Kind{Regions, Facilities, Zones, Devices, Bodies}

// ParseKind returns the kind named s, or an EINVALID error listing the kinds.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); tables[k] != nil {
		return k, nil
	}
	return "", qorgau.Errorf(qorgau.EINVALID, "%q is not a registry kind (%s)", s, joinList(Kinds))
}

// Columns returns the columns of the kind's file in canonical order, key
// first, or nil for an unknown kind.
func (k Kind) Columns() []string {
	if t := tables[k]; t != nil {
		return slices.Clone(t.header())
	}
	return nil
}

// Options tune Import.
type Options struct {
	// Actor is who imports, for the audit record ("cli:root"). It is
	// required unless DryRun is set.
	Actor string
	// Source names the file in the audit record, usually its base name.
	Source string
	// Progress, if not nil, is called as rows are checked with the number
	// checked so far and the number of rows in the file, at most about 100
	// times, the last time with done == total (never for a file without
	// rows). Saving is one transaction and reports no progress of its own.
	Progress func(done, total int)
	// DryRun checks the file and counts what would change, but writes
	// nothing.
	DryRun bool
}

// Result counts the rows of an import.
type Result struct {
	Kind      Kind
	Rows      int // data rows in the file
	New       int // rows whose key was not stored
	Changed   int // rows that differ from what was stored
	Unchanged int // rows equal to what was stored; not written
}

// Import reads a CSV file of the given kind from r and saves its new and
// changed rows in db, appending one audit record in the same transaction.
// See the package documentation for the format and rules.
//
// When the file has any problem, Import returns a [Problems] error listing
// them all and writes nothing. It returns an EINVALID error for an unknown
// kind or a missing opt.Actor, and other errors when reading r or the store
// fails.
func Import(ctx context.Context, db *store.DB, kind Kind, r io.Reader, opt Options) (*Result, error) {
	t := tables[kind]
	if t == nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "%q is not a registry kind (%s)", kind, joinList(Kinds))
	}
	if opt.Actor == "" && !opt.DryRun {
		return nil, qorgau.Errorf(qorgau.EINVALID, "an import needs an actor for the audit record")
	}
	return t.importFile(ctx, db, kind, r, opt)
}

// Export writes every stored entry of the given kind to w as CSV, header
// first, rows sorted by key, and returns the number of rows written. It
// returns an EINVALID error for an unknown kind, and other errors when the
// store or w fails.
func Export(ctx context.Context, db *store.DB, kind Kind, w io.Writer) (int, error) {
	t := tables[kind]
	if t == nil {
		return 0, qorgau.Errorf(qorgau.EINVALID, "%q is not a registry kind (%s)", kind, joinList(Kinds))
	}
	n, err := t.export(ctx, db, w)
	if err != nil {
		return n, fmt.Errorf("export %s: %w", kind, err)
	}
	return n, nil
}

// kindTable is what Import and Export need of a table, whatever its row
// type.
type kindTable interface {
	header() []string
	importFile(ctx context.Context, db *store.DB, kind Kind, r io.Reader, opt Options) (*Result, error)
	export(ctx context.Context, db *store.DB, w io.Writer) (int, error)
}

var tables = map[Kind]kindTable{
	Regions:    regionTable,
	Facilities: facilityTable,
	Zones:      zoneTable,
	Devices:    deviceTable,
	Bodies:     bodyTable,
}

// table describes one kind of entry: its columns, how a row becomes a T and
// a T becomes a row, and how Ts are loaded and saved.
type table[T any] struct {
	columns []string // canonical order; the first nkey columns are the key
	nkey    int
	needs   need // what parse looks up in the store
	// parse reads r into a T, reporting what is wrong through r.
	parse func(c *checker, r *row) T
	// validate is the domain type's own check, run on rows parse accepted.
	validate func(*T) error
	// record returns the fields of a T in column order and canonical form.
	// Two Ts are equal when their records are.
	record func(*T) []string
	load   func(ctx context.Context, db *store.DB) ([]T, error)
	save   func(ctx context.Context, db *store.DB, list []T, audit *qorgau.AuditRecord) error
}

func (t *table[T]) header() []string { return t.columns }

func (t *table[T]) key(rec []string) string {
	if t.nkey == 1 {
		return rec[0]
	}
	return strings.Join(rec[:t.nkey], "\x00")
}

func (t *table[T]) importFile(ctx context.Context, db *store.DB, kind Kind, r io.Reader, opt Options) (*Result, error) {
	f, err := readFile(r, t.columns)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", kind, err)
	}
	c, err := newChecker(ctx, db, t.needs)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", kind, err)
	}

	// Check every row, collecting every problem.
	items := make([]T, 0, len(f.rows))
	seen := make(map[string]int, len(f.rows)) // key → line
	total := len(f.rows)
	step := max(1, (total+99)/100)
	for i := range f.rows {
		r := &f.rows[i]
		item := t.parse(c, r)
		if !r.bad {
			if err := t.validate(&item); err != nil {
				r.problem("", "%s", qorgau.ErrorMessage(err))
			}
		}
		t.checkDuplicate(r, seen)
		items = append(items, item)
		if done := i + 1; done%step == 0 || done == total {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
	}
	if len(f.problems) > 0 {
		slices.SortStableFunc(f.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, f.problems
	}

	// Compare with the store and keep what differs.
	old, err := t.load(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", kind, err)
	}
	stored := make(map[string][]string, len(old))
	for i := range old {
		rec := t.record(&old[i])
		stored[t.key(rec)] = rec
	}
	res := &Result{Kind: kind, Rows: len(items)}
	var changes []T
	for i := range items {
		rec := t.record(&items[i])
		prev, ok := stored[t.key(rec)]
		switch {
		case !ok:
			res.New++
		case slices.Equal(prev, rec):
			res.Unchanged++
			continue
		default:
			res.Changed++
		}
		changes = append(changes, items[i])
	}
	if len(changes) == 0 || opt.DryRun {
		return res, nil
	}
	audit := &qorgau.AuditRecord{
		Actor:  opt.Actor,
		Action: qorgau.AuditImport,
		Target: string(kind),
		Detail: fmt.Sprintf("file=%s rows=%d new=%d changed=%d unchanged=%d",
			detailValue(opt.Source), res.Rows, res.New, res.Changed, res.Unchanged),
	}
	if err := t.save(ctx, db, changes, audit); err != nil {
		return nil, fmt.Errorf("import %s: %w", kind, err)
	}
	return res, nil
}

// checkDuplicate reports r if its key was on an earlier line, and remembers
// it otherwise. Rows with an empty key field are already reported.
func (t *table[T]) checkDuplicate(r *row, seen map[string]int) {
	keys := r.vals[:t.nkey]
	if slices.Contains(keys, "") {
		return
	}
	k := t.key(keys)
	first, dup := seen[k]
	if !dup {
		seen[k] = r.line("")
		return
	}
	col := t.columns[t.nkey-1]
	if t.nkey == 1 {
		r.problem(col, "%q is already on line %d", keys[0], first)
		return
	}
	r.problem(col, "%q is already on line %d for %s %q", keys[t.nkey-1], first, t.columns[0], keys[0])
}

func (t *table[T]) export(ctx context.Context, db *store.DB, w io.Writer) (int, error) {
	list, err := t.load(ctx, db)
	if err != nil {
		return 0, err
	}
	recs := make([][]string, len(list))
	for i := range list {
		recs[i] = t.record(&list[i])
	}
	// Sort here rather than trust ORDER BY: PostgreSQL collations need not
	// order codes the way SQLite does.
	slices.SortFunc(recs, func(a, b []string) int { return slices.Compare(a[:t.nkey], b[:t.nkey]) })
	cw := csv.NewWriter(w)
	if err := cw.Write(t.columns); err != nil {
		return 0, err
	}
	if err := cw.WriteAll(recs); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// detailValue returns s as one token of an audit detail: quoted if it is
// empty or has spaces, quotes or '='.
func detailValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"=") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func joinList[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
