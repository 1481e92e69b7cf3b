package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/registry"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// The registry files the tests start from, in import order. The migrations
// have already stored Kazakhstan's 20 regions.
var (
	regionsCSV = `code,name_kk,name_ru,name_en
KG-C,Чүй облусу,Чуйская область,Chüy Region
KZ-71,Астана қаласы,город Астана,Astana
KZ-75,Алматы қаласы,город Алматы,Almaty City
`
	facilitiesCSV = `code,name,region,type,authority,capacity,population
SIZO-1,Pre-trial centre 1,KZ-71,pretrial,Penal system committee,600,540
EC-166-1,Colony 1,KZ-35,colony-medium,Penal system committee,1200,980
IVS-3,"Police detention, ""Almaty""",KZ-75,police-ivs,Ministry of Internal Affairs,40,0
`
	zonesCSV = `facility,code,name,kind
EC-166-1,MED,Medical unit,medical-unit
EC-166-1,B1,Block 1,cell-block
SIZO-1,C1,Corridor 1,corridor
`
	devicesCSV = `id,kind,facility,zone,interval_seconds,required_hours
T-1,terminal,EC-166-1,B1,60,08:00-20:00
C-1,camera,EC-166-1,MED,30,24/7
C-2,camera,EC-166-1,,30,
C-3,camera,SIZO-1,C1,30,20:00-08:00
`
	bodiesCSV = `code,kind,region,name_kk,name_ru,name_en
PROS-35,prosecutor,KZ-35,Қарағанды облысының прокуратурасы,Прокуратура Карагандинской области,Karaganda regional prosecutor
NPM,npm,,ҰАО,НПМ,National preventive mechanism
AC-75,anti-corruption,KZ-75,Сыбайлас жемқорлыққа қарсы агенттік,Антикоррупционная служба,Anti-corruption agency
`
)

var registryFiles = []struct {
	kind registry.Kind
	file string
}{
	{registry.Regions, regionsCSV},
	{registry.Facilities, facilitiesCSV},
	{registry.Zones, zonesCSV},
	{registry.Devices, devicesCSV},
	{registry.Bodies, bodiesCSV},
}

func importString(t *testing.T, db *store.DB, kind registry.Kind, file string) (*registry.Result, error) {
	t.Helper()
	return registry.Import(context.Background(), db, kind, strings.NewReader(file),
		registry.Options{Actor: "cli:test", Source: string(kind) + ".csv"})
}

// loadRegistry imports the test registry files.
func loadRegistry(t *testing.T, db *store.DB) {
	t.Helper()
	for _, f := range registryFiles {
		if _, err := importString(t, db, f.kind, f.file); err != nil {
			t.Fatalf("Import(%s) = %v", f.kind, err)
		}
	}
}

func export(t testing.TB, db *store.DB, kind registry.Kind) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := registry.Export(context.Background(), db, kind, &buf); err != nil {
		t.Fatalf("Export(%s) = %v", kind, err)
	}
	return buf.String()
}

func importAudits(t *testing.T, db *store.DB) []qorgau.AuditRecord {
	t.Helper()
	list, err := db.AuditRecords(context.Background(), qorgau.AuditFilter{Action: qorgau.AuditImport, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestImport(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		for _, tc := range []struct {
			kind registry.Kind
			file string
			want registry.Result
		}{
			// KG-C is new, KZ-71 gets a shorter English name, KZ-75 is as
			// the migration stored it.
			{registry.Regions, regionsCSV, registry.Result{Rows: 3, New: 1, Changed: 1, Unchanged: 1}},
			{registry.Facilities, facilitiesCSV, registry.Result{Rows: 3, New: 3}},
			{registry.Zones, zonesCSV, registry.Result{Rows: 3, New: 3}},
			{registry.Devices, devicesCSV, registry.Result{Rows: 4, New: 4}},
			{registry.Bodies, bodiesCSV, registry.Result{Rows: 3, New: 3}},
		} {
			res, err := importString(t, db, tc.kind, tc.file)
			tc.want.Kind = tc.kind
			if err != nil || *res != tc.want {
				t.Fatalf("Import(%s) = %+v, %v; want %+v", tc.kind, res, err, tc.want)
			}
		}

		for _, tc := range []struct {
			kind registry.Kind
			want string
		}{
			{registry.Facilities, `code,name,region,type,authority,capacity,population
EC-166-1,Colony 1,KZ-35,colony-medium,Penal system committee,1200,980
IVS-3,"Police detention, ""Almaty""",KZ-75,police-ivs,Ministry of Internal Affairs,40,0
SIZO-1,Pre-trial centre 1,KZ-71,pretrial,Penal system committee,600,540
`},
			{registry.Zones, `facility,code,name,kind
EC-166-1,B1,Block 1,cell-block
EC-166-1,MED,Medical unit,medical-unit
SIZO-1,C1,Corridor 1,corridor
`},
			{registry.Devices, `id,kind,facility,zone,interval_seconds,required_hours
C-1,camera,EC-166-1,MED,30,24/7
C-2,camera,EC-166-1,,30,24/7
C-3,camera,SIZO-1,C1,30,20:00-08:00
T-1,terminal,EC-166-1,B1,60,08:00-20:00
`},
			// Sorted by code, not by region as the store lists them.
			{registry.Bodies, `code,kind,region,name_kk,name_ru,name_en
AC-75,anti-corruption,KZ-75,Сыбайлас жемқорлыққа қарсы агенттік,Антикоррупционная служба,Anti-corruption agency
NPM,npm,,ҰАО,НПМ,National preventive mechanism
PROS-35,prosecutor,KZ-35,Қарағанды облысының прокуратурасы,Прокуратура Карагандинской области,Karaganda regional prosecutor
`},
		} {
			if got := export(t, db, tc.kind); got != tc.want {
				t.Errorf("Export(%s) =\n%s\nwant\n%s", tc.kind, got, tc.want)
			}
		}
		regions := export(t, db, registry.Regions)
		for _, want := range []string{"\nKG-C,Чүй облусу,Чуйская область,Chüy Region\n", "\nKZ-71,Астана қаласы,город Астана,Astana\n"} {
			if !strings.Contains(regions, want) {
				t.Errorf("Export(regions) does not contain %q:\n%s", want, regions)
			}
		}

		audits := importAudits(t, db)
		if len(audits) != 5 {
			t.Fatalf("import audit records = %d, want 5, one per file", len(audits))
		}
		last := audits[0]
		if want := "file=bodies.csv rows=3 new=3 changed=0 unchanged=0"; last.Actor != "cli:test" || last.Target != "bodies" || last.Detail != want {
			t.Errorf("last audit record = %q %q %q, want cli:test bodies %q", last.Actor, last.Target, last.Detail, want)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		loadRegistry(t, db)
		audits := len(importAudits(t, db))
		for _, kind := range registry.Kinds {
			t.Run(string(kind), func(t *testing.T) {
				var buf bytes.Buffer
				n, err := registry.Export(ctx, db, kind, &buf)
				if err != nil {
					t.Fatal(err)
				}
				first := buf.String()
				res, err := importString(t, db, kind, first)
				if want := (registry.Result{Kind: kind, Rows: n, Unchanged: n}); err != nil || *res != want {
					t.Fatalf("Import(Export(%s)) = %+v, %v; want %+v", kind, res, err, want)
				}
				if again := export(t, db, kind); again != first {
					t.Errorf("Export after re-import =\n%s\nwant\n%s", again, first)
				}
			})
		}
		if got := len(importAudits(t, db)); got != audits {
			t.Errorf("import audit records after no-op imports = %d, want %d", got, audits)
		}
	})
}

func TestImportChanged(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		loadRegistry(t, db)
		file := strings.Replace(devicesCSV, "C-1,camera,EC-166-1,MED,30,24/7", "C-1,camera,EC-166-1,,15,07:00-19:00", 1) +
			"C-4,camera,SIZO-1,C1,30,24/7\n"
		res, err := importString(t, db, registry.Devices, file)
		if want := (registry.Result{Kind: registry.Devices, Rows: 5, New: 1, Changed: 1, Unchanged: 3}); err != nil || *res != want {
			t.Fatalf("Import(changed devices) = %+v, %v; want %+v", res, err, want)
		}
		devs, _, err := db.Devices(ctx, qorgau.DeviceFilter{Query: "C-1"})
		if err != nil || len(devs) != 1 {
			t.Fatalf("Devices(C-1) = %+v, %v", devs, err)
		}
		if d := devs[0]; d.Zone != "" || d.Interval != 15 || d.Required.String() != "07:00-19:00" {
			t.Errorf("C-1 after import = %+v, want no zone, interval 15, hours 07:00-19:00", d)
		}
		audit := importAudits(t, db)[0]
		if want := "file=devices.csv rows=5 new=1 changed=1 unchanged=3"; audit.Target != "devices" || audit.Detail != want {
			t.Errorf("audit record = %q %q, want devices %q", audit.Target, audit.Detail, want)
		}
	})
}

func TestImportDryRun(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		loadRegistry(t, db)
		before := export(t, db, registry.Facilities)
		file := facilitiesCSV + "F-2,Colony 2,KZ-10,colony-minimum,Committee,100,50\n"
		file = strings.Replace(file, "1200,980", "1200,1100", 1)
		res, err := registry.Import(ctx, db, registry.Facilities, strings.NewReader(file), registry.Options{DryRun: true})
		if want := (registry.Result{Kind: registry.Facilities, Rows: 4, New: 1, Changed: 1, Unchanged: 2}); err != nil || *res != want {
			t.Fatalf("Import(dry run) = %+v, %v; want %+v", res, err, want)
		}
		if after := export(t, db, registry.Facilities); after != before {
			t.Errorf("facilities after a dry run =\n%s\nwant unchanged\n%s", after, before)
		}
	})
}

// wantProblem is a Problem with only part of its message.
type wantProblem struct {
	line   int
	column string
	text   string
}

func checkProblems(t *testing.T, err error, want []wantProblem) {
	t.Helper()
	var ps registry.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Import = %v, want Problems", err)
	}
	if qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("ErrorCode(Problems) = %q, want EINVALID", qorgau.ErrorCode(err))
	}
	for i := 0; i < max(len(ps), len(want)); i++ {
		switch {
		case i >= len(ps):
			t.Errorf("missing problem: line %d, column %s: …%s…", want[i].line, want[i].column, want[i].text)
		case i >= len(want):
			t.Errorf("unexpected problem: %s", ps[i])
		case ps[i].Line != want[i].line || ps[i].Column != want[i].column || !strings.Contains(ps[i].Message, want[i].text):
			t.Errorf("problem %d = %s\nwant line %d, column %s: …%s…", i, ps[i], want[i].line, want[i].column, want[i].text)
		}
	}
}

func TestImportProblems(t *testing.T) {
	long := strings.Repeat("x", 301)
	for _, tc := range []struct {
		name string
		kind registry.Kind
		file string
		want []wantProblem
	}{
		{"devices", registry.Devices, `id,kind,facility,zone,interval_seconds,required_hours
D-1,cam,EC-166-1,B1,60,24/7
D-2,camera,NOPE,,60,24/7
D-3,camera,EC-166-1,C1,60,24/7

D-4,camera,EC-166-1,,0,24/7
D-5,camera,EC-166-1,,abc,24/7
D-6,camera,EC-166-1,,60,25:00-26:00
T-1,terminal,EC-166-1,B1,15,24/7
D-1,camera,EC-166-1,B1,60,24/7
,camera,EC-166-1,,60,24/7
D 8,camera,EC-166-1,,60,24/7
D-9,camera,EC-166-1,60,24/7
"D-10",camera,"EC-166-1"x,,60,24/7
D-11,camera,EC-166-1,,60,24/7
D-11,terminal,SIZO-1,,60,24/7
`, []wantProblem{
			{2, "kind", `"cam" is not a device kind (terminal, camera)`},
			{3, "facility", `"NOPE" is not a facility in the registry`},
			{4, "zone", `"C1" is not a zone of facility "EC-166-1"`},
			{6, "interval_seconds", "must be between 1 and 86400, not 0"},
			{7, "interval_seconds", `"abc" is not a whole number`},
			{8, "required_hours", `"25:00" is not a time of day`},
			{10, "id", `"D-1" is already on line 2`},
			{11, "id", "must not be empty"},
			{12, "id", `"D 8" is not a code`},
			{13, "", "has 5 fields, want 6"},
			{14, "", "bad CSV: extraneous or missing \" in quoted-field"},
			{16, "id", `"D-11" is already on line 15`},
		}},
		{"facilities", registry.Facilities, `code,name,region,type,authority,capacity,population
F-1,"Colony
on two lines",KZ-99,colony-medium,Committee,10,-1
F-2,Colony 2,,prison,Committee,"1,200",5
F-3,` + long + `,KZ-10,colony-minimum,Committee,10,5
`, []wantProblem{
			{3, "region", `"KZ-99" is not a region in the registry`},
			{3, "population", "must be 0 or more, not -1"},
			{4, "region", "must not be empty"},
			{4, "type", `"prison" is not a facility type (colony-minimum,`},
			{4, "capacity", `"1,200" is not a whole number`},
			{5, "", "facility name is longer than 300 bytes"},
		}},
		{"zones", registry.Zones, `facility,code,name,kind
EC-166-1,B1,Block 1,cell-block
SIZO-9,B1,Block 1,cell-block
EC-166-1,B2,,yard
EC-166-1,B1,Block one,cell-block
`, []wantProblem{
			{3, "facility", `"SIZO-9" is not a facility in the registry (import facilities first)`},
			{4, "name", "must not be empty"},
			{4, "kind", `"yard" is not a zone kind`},
			{5, "code", `"B1" is already on line 2 for facility "EC-166-1"`},
		}},
		{"bodies", registry.Bodies, `code,kind,region,name_kk,name_ru,name_en
OMB,ombudsman,KZ-00,a,b,c
CRT,tribunal,,a,b,c
`, []wantProblem{
			{2, "region", `"KZ-00" is not a region in the registry`},
			{3, "kind", `"tribunal" is not a body kind (prosecutor, court, ombudsman, npm, anti-corruption)`},
		}},
		{"regions", registry.Regions, "code,name_kk,name_ru,name_en\nKZ-10,,Абайская,Abai\nKZ-10,Абай,Абайская,Abai\n", []wantProblem{
			{2, "name_kk", "must not be empty"},
			{3, "code", `"KZ-10" is already on line 2`},
		}},
		{"missing column", registry.Devices, "id,kind,facility,zone,interval_seconds\nD-1,camera,EC-166-1,,60\n", []wantProblem{
			{1, "required_hours", "column is missing"},
		}},
		{"extra column", registry.Zones, "facility,code,name,kind,notes\nEC-166-1,B9,Block 9,cell-block,new\n", []wantProblem{
			{1, "notes", "unknown column; want columns facility,code,name,kind"},
		}},
		{"renamed column", registry.Regions, "code,name_kk,name_ru,name\n", []wantProblem{
			{1, "name", "unknown column"},
			{1, "name_en", "column is missing"},
		}},
		{"column twice", registry.Regions, "code,name_kk,name_ru,name_en,code\n", []wantProblem{
			{1, "code", "column is named twice"},
		}},
		{"header after blank lines", registry.Regions, "\n\ncode,name_kk,name_ru\n", []wantProblem{
			{3, "name_en", "column is missing"},
		}},
		{"empty file", registry.Bodies, "", []wantProblem{
			{1, "", "the file is empty; want a header row code,kind,region,name_kk,name_ru,name_en"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
				loadRegistry(t, db)
				before := snapshot(t, db)
				_, err := importString(t, db, tc.kind, tc.file)
				checkProblems(t, err, tc.want)
				if after := snapshot(t, db); after != before {
					t.Errorf("store after a rejected import:\n%s\nwant unchanged:\n%s", after, before)
				}
			})
		})
	}
}

// snapshot returns the row count and the export of every kind, and the
// number of import audit records.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	var sb strings.Builder
	for _, kind := range registry.Kinds {
		out := export(t, db, kind)
		fmt.Fprintf(&sb, "%s: %d rows\n%s", kind, strings.Count(out, "\n")-1, out)
	}
	fmt.Fprintf(&sb, "import audit records: %d\n", len(importAudits(t, db)))
	return sb.String()
}

func TestProblemsError(t *testing.T) {
	ps := registry.Problems{
		{Line: 1, Column: "notes", Message: "unknown column"},
		{Line: 12, Column: "kind", Message: `"cam" is not a device kind (terminal, camera)`},
		{Line: 13, Message: "has 5 fields, want 6 as in the header"},
	}
	want := `line 1, column notes: unknown column
line 12, column kind: "cam" is not a device kind (terminal, camera)
line 13: has 5 fields, want 6 as in the header`
	if got := ps.Error(); got != want {
		t.Errorf("Problems.Error() =\n%s\nwant\n%s", got, want)
	}
}

// TestImportSpreadsheet reads a file as Excel saves it: a byte order mark,
// CRLF line ends, its own column order, padded fields and empty rows.
func TestImportSpreadsheet(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		loadRegistry(t, db)
		file := "\xEF\xBB\xBFrequired_hours,zone,id,kind,facility,interval_seconds\r\n" +
			"24/7,MED, C-1 ,camera,EC-166-1,30\r\n" +
			",,,,,\r\n" +
			" 09:00-18:00 , B1,C-5,camera,EC-166-1, 45\r\n" +
			",,,,,\r\n"
		res, err := importString(t, db, registry.Devices, file)
		if want := (registry.Result{Kind: registry.Devices, Rows: 2, New: 1, Unchanged: 1}); err != nil || *res != want {
			t.Fatalf("Import(spreadsheet) = %+v, %v; want %+v", res, err, want)
		}
		if out := export(t, db, registry.Devices); !strings.Contains(out, "\nC-5,camera,EC-166-1,B1,45,09:00-18:00\n") {
			t.Errorf("Export(devices) =\n%s\nwant a row for C-5", out)
		}

		// The mark does not shift line numbers.
		_, err = importString(t, db, registry.Devices, "\xEF\xBB\xBFid,kind,facility,zone,interval_seconds,required_hours\n"+
			"C-6,camera,EC-166-1,,30,24/7\nC-7,drone,EC-166-1,,30,24/7\n")
		checkProblems(t, err, []wantProblem{{3, "kind", `"drone" is not a device kind`}})
	})
}

func TestImportNoActor(t *testing.T) {
	db := storetest.Open(t, filepath.Join(t.TempDir(), "qorgau.db"))
	_, err := registry.Import(context.Background(), db, registry.Regions, strings.NewReader(regionsCSV), registry.Options{})
	if qorgau.ErrorCode(err) != qorgau.EINVALID {
		t.Errorf("Import without an actor = %v, want EINVALID", err)
	}
}

func TestImportProgress(t *testing.T) {
	db := openDevicesStore(t, 3, 4)
	for _, n := range []int{1, 99, 100, 250, 1001} {
		var calls, last, total int
		opt := registry.Options{DryRun: true, Progress: func(d, t int) { calls, last, total = calls+1, d, t }}
		if _, err := registry.Import(context.Background(), db, registry.Devices, strings.NewReader(generateDevices(n, 3, 4)), opt); err != nil {
			t.Fatal(err)
		}
		if calls < 1 || calls > 100 || last != n || total != n {
			t.Errorf("Progress for %d rows: %d calls, last (%d, %d); want 1-100 calls ending (%d, %d)", n, calls, last, total, n, n)
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want registry.Kind
		ok   bool
	}{
		{"regions", registry.Regions, true},
		{"facilities", registry.Facilities, true},
		{"zones", registry.Zones, true},
		{"devices", registry.Devices, true},
		{"bodies", registry.Bodies, true},
		{"Devices", "", false},
		{"device", "", false},
		{"", "", false},
	} {
		got, err := registry.ParseKind(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseKind(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && qorgau.ErrorCode(err) != qorgau.EINVALID {
			t.Errorf("ParseKind(%q) error code = %q, want EINVALID", tc.in, qorgau.ErrorCode(err))
		}
	}
}

// generateRegistry returns facility and zone files for nf facilities with
// nz zones each.
func generateRegistry(nf, nz int) (facilities, zones string) {
	var fb, zb strings.Builder
	fb.WriteString("code,name,region,type,authority,capacity,population\n")
	zb.WriteString("facility,code,name,kind\n")
	for f := range nf {
		fmt.Fprintf(&fb, "F-%03d,Facility %d,KZ-35,colony-medium,Penal system committee,1000,900\n", f, f)
		for z := range nz {
			fmt.Fprintf(&zb, "F-%03d,Z%02d,Zone %d,corridor\n", f, z, z)
		}
	}
	return fb.String(), zb.String()
}

// generateDevices returns a device file of n devices spread over the
// facilities and zones of generateRegistry(nf, nz).
func generateDevices(n, nf, nz int) string {
	var b strings.Builder
	b.WriteString("id,kind,facility,zone,interval_seconds,required_hours\n")
	for i := range n {
		kind, hours, zone := "camera", "24/7", fmt.Sprintf("Z%02d", i%nz)
		if i%75 == 0 {
			kind, hours = "terminal", "08:00-20:00"
		}
		if i%10 == 0 {
			zone = ""
		}
		fmt.Fprintf(&b, "D-%06d,%s,F-%03d,%s,%d,%s\n", i, kind, i%nf, zone, 30+i%3*30, hours)
	}
	return b.String()
}

// openDevicesStore returns a SQLite store with the facilities and zones
// that generateDevices refers to.
func openDevicesStore(tb testing.TB, nf, nz int) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db := storetest.Open(tb, filepath.Join(tb.TempDir(), "qorgau.db"))
	facilities, zones := generateRegistry(nf, nz)
	opt := registry.Options{Actor: "cli:test"}
	for _, f := range []struct {
		kind registry.Kind
		file string
	}{{registry.Facilities, facilities}, {registry.Zones, zones}} {
		if _, err := registry.Import(ctx, db, f.kind, strings.NewReader(f.file), opt); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

func TestImport45kDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 45,000-device import in -short mode")
	}
	ctx := context.Background()
	db := openDevicesStore(t, 80, 25)
	file := generateDevices(45000, 80, 25)
	start := time.Now()
	res, err := registry.Import(ctx, db, registry.Devices, strings.NewReader(file), registry.Options{Actor: "cli:test"})
	if err != nil || res.New != 45000 {
		t.Fatalf("Import(45,000 devices) = %+v, %v; want 45000 new", res, err)
	}
	t.Logf("imported 45,000 devices into SQLite in %v", time.Since(start))
	if _, total, err := db.Devices(ctx, qorgau.DeviceFilter{}); err != nil || total != 45000 {
		t.Errorf("stored devices = %d, %v; want 45000", total, err)
	}
	start = time.Now()
	res, err = registry.Import(ctx, db, registry.Devices, strings.NewReader(file), registry.Options{Actor: "cli:test"})
	if err != nil || res.Unchanged != 45000 {
		t.Fatalf("re-Import(45,000 devices) = %+v, %v; want 45000 unchanged", res, err)
	}
	t.Logf("re-imported 45,000 unchanged devices in %v", time.Since(start))
}

// BenchmarkImportDevices45k imports 45,000 devices of 80 facilities into
// SQLite: into an empty device table ("new"), and again into a table that
// already holds them ("unchanged", which writes nothing).
func BenchmarkImportDevices45k(b *testing.B) {
	const n, nf, nz = 45000, 80, 25
	ctx := context.Background()
	file := generateDevices(n, nf, nz)
	opt := registry.Options{Actor: "cli:bench"}
	b.Run("new", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			db := openDevicesStore(b, nf, nz)
			b.StartTimer()
			res, err := registry.Import(ctx, db, registry.Devices, strings.NewReader(file), opt)
			if err != nil || res.New != n {
				b.Fatalf("Import = %+v, %v; want %d new", res, err, n)
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		db := openDevicesStore(b, nf, nz)
		if _, err := registry.Import(ctx, db, registry.Devices, strings.NewReader(file), opt); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			res, err := registry.Import(ctx, db, registry.Devices, strings.NewReader(file), opt)
			if err != nil || res.Unchanged != n {
				b.Fatalf("Import = %+v, %v; want %d unchanged", res, err, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
