package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/demo"
	"qorgau.kz/qorgau/internal/pgtest"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// oblasts are Kazakhstan's 17 oblasts (ISO 3166-2:KZ); the demo must hold
// facilities in each.
var oblasts = []string{"KZ-10", "KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-27", "KZ-31", "KZ-33", "KZ-35",
	"KZ-39", "KZ-43", "KZ-47", "KZ-55", "KZ-59", "KZ-61", "KZ-62", "KZ-63"}

func inRange(t *testing.T, what string, got, lo, hi int) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %d, want %d-%d", what, got, lo, hi)
	}
}

func TestGenerate(t *testing.T) {
	for _, seed := range []int64{1, 2, 42} {
		c := demo.Generate(seed)

		facilities := map[string]qorgau.Facility{}
		regions := map[string]bool{}
		types := map[qorgau.FacilityType]int{}
		for _, f := range c.Facilities {
			if err := f.Validate(); err != nil {
				t.Errorf("seed %d: facility %s: Validate() = %v", seed, f.Code, err)
			}
			if _, dup := facilities[f.Code]; dup {
				t.Errorf("seed %d: facility code %s is not unique", seed, f.Code)
			}
			facilities[f.Code] = f
			regions[f.Region] = true
			types[f.Type]++
			if f.Type != qorgau.PoliceDetention {
				inRange(t, f.Code+" capacity", f.Capacity, 200, 1500)
			}
			if f.Population*100 < f.Capacity*60 || f.Population*100 > f.Capacity*105 {
				t.Errorf("seed %d: %s population = %d of capacity %d, want 60-105 %%", seed, f.Code, f.Population, f.Capacity)
			}
		}
		inRange(t, "facilities", len(c.Facilities), 75, 90)
		for _, code := range oblasts {
			if !regions[code] {
				t.Errorf("seed %d: no facility in %s", seed, code)
			}
		}
		colonies := 0
		for _, ft := range qorgau.FacilityTypes {
			if types[ft] == 0 {
				t.Errorf("seed %d: no facility of type %s", seed, ft)
			}
			if ft != qorgau.PretrialCentre && ft != qorgau.PoliceDetention && ft != qorgau.Psychiatric {
				colonies += types[ft]
			}
		}
		if colonies != 62 || types[qorgau.PretrialCentre] != 16 {
			t.Errorf("seed %d: %d colonies and %d pre-trial centres, want 62 and 16", seed, colonies, types[qorgau.PretrialCentre])
		}

		zones := map[[2]string]qorgau.Zone{}
		kinds := map[qorgau.ZoneKind]bool{}
		perFacility := map[string]int{}
		for _, z := range c.Zones {
			if err := z.Validate(); err != nil {
				t.Errorf("seed %d: zone %s/%s: Validate() = %v", seed, z.Facility, z.Code, err)
			}
			key := [2]string{z.Facility, z.Code}
			if _, dup := zones[key]; dup {
				t.Errorf("seed %d: zone %s/%s is not unique", seed, z.Facility, z.Code)
			}
			if _, ok := facilities[z.Facility]; !ok {
				t.Errorf("seed %d: zone %s/%s names no facility", seed, z.Facility, z.Code)
			}
			zones[key] = z
			kinds[z.Kind] = true
			perFacility[z.Facility]++
		}
		for _, k := range qorgau.ZoneKinds {
			if !kinds[k] {
				t.Errorf("seed %d: no zone of kind %s", seed, k)
			}
		}
		for code, f := range facilities {
			lo := 15
			if f.Type == qorgau.PoliceDetention {
				lo = 8
			}
			inRange(t, code+" zones", perFacility[code], lo, 45)
		}

		ids := map[string]bool{}
		terminals, cameras := 0, 0
		cameraZones := map[[2]string]int{}
		terminalsAt := map[string]int{}
		for _, d := range c.Devices {
			if err := d.Validate(); err != nil {
				t.Errorf("seed %d: device %s: Validate() = %v", seed, d.ID, err)
			}
			if ids[d.ID] {
				t.Errorf("seed %d: device id %s is not unique", seed, d.ID)
			}
			ids[d.ID] = true
			if _, ok := facilities[d.Facility]; !ok {
				t.Errorf("seed %d: device %s names no facility %s", seed, d.ID, d.Facility)
			}
			z, ok := zones[[2]string{d.Facility, d.Zone}]
			if !ok {
				t.Errorf("seed %d: device %s names no zone %s/%s", seed, d.ID, d.Facility, d.Zone)
			}
			switch d.Kind {
			case qorgau.DeviceTerminal:
				terminals++
				terminalsAt[d.Facility]++
				if z.Kind != qorgau.ZoneCellBlock && z.Kind != qorgau.ZoneCorridor {
					t.Errorf("seed %d: terminal %s is in a %s, want a cell block or corridor", seed, d.ID, z.Kind)
				}
				if h := d.Required.String(); d.Interval != 60 || h != "08:00-20:00" && h != "24/7" {
					t.Errorf("seed %d: terminal %s interval %d, hours %s; want 60 s, 08:00-20:00 or 24/7", seed, d.ID, d.Interval, h)
				}
			case qorgau.DeviceCamera:
				cameras++
				cameraZones[[2]string{d.Facility, d.Zone}]++
				if d.Interval != 30 || !d.Required.IsAlways() {
					t.Errorf("seed %d: camera %s interval %d, hours %s; want 30 s, 24/7", seed, d.ID, d.Interval, d.Required)
				}
			}
		}
		inRange(t, "terminals", terminals, 550, 650)
		inRange(t, "cameras", cameras, 43000, 47000)
		for code, f := range facilities {
			switch {
			case f.Type == qorgau.PretrialCentre:
				inRange(t, code+" terminals", terminalsAt[code], 4, 9)
			case f.Type == qorgau.PoliceDetention || f.Type == qorgau.Psychiatric:
				inRange(t, code+" terminals", terminalsAt[code], 1, 2)
			default:
				inRange(t, code+" terminals", terminalsAt[code], 6, 10)
			}
		}
		blind := 0
		for key, z := range zones {
			n := cameraZones[key]
			if n == 0 {
				blind++
			}
			if z.Kind == qorgau.ZoneInterrogation && n > 1 {
				t.Errorf("seed %d: interrogation room %s/%s has %d cameras, want at most 1", seed, key[0], key[1], n)
			}
		}
		// Coverage gaps are part of the demo: a tenth of the zones or so.
		inRange(t, "zones without a camera", blind, len(zones)/20, len(zones)/4)

		bodies := map[string]qorgau.Body{}
		bodyKinds := map[qorgau.BodyKind]int{}
		for _, b := range c.Bodies {
			if err := b.Validate(); err != nil {
				t.Errorf("seed %d: body %s: Validate() = %v", seed, b.Code, err)
			}
			if _, dup := bodies[b.Code]; dup {
				t.Errorf("seed %d: body code %s is not unique", seed, b.Code)
			}
			bodies[b.Code] = b
			bodyKinds[b.Kind]++
		}
		for region := range regions {
			for _, code := range []string{"PROS-" + region, "COURT-" + region} {
				if b, ok := bodies[code]; !ok || b.Region != region {
					t.Errorf("seed %d: body %s = %+v, want one for region %s", seed, code, b, region)
				}
			}
		}
		for _, k := range qorgau.BodyKinds {
			if bodyKinds[k] == 0 {
				t.Errorf("seed %d: no body of kind %s", seed, k)
			}
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := demo.Generate(1), demo.Generate(1)
	if !reflect.DeepEqual(a, b) {
		t.Error("Generate(1) twice differs, want equal countries")
	}
	if other := demo.Generate(2); reflect.DeepEqual(a.Devices, other.Devices) {
		t.Error("Generate(1) and Generate(2) have equal devices, want the seed to matter")
	}
}

func TestLoad(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		start := time.Now()
		accounts, loaded, err := demo.Load(ctx, db, 1)
		if err != nil {
			t.Fatalf("Load = %v", err)
		}
		t.Logf("Load took %v on %s", time.Since(start).Round(time.Millisecond), db.Engine())
		if !loaded {
			t.Fatal("Load into an empty store: loaded = false, want true")
		}

		c := demo.Generate(1)
		sums, err := db.FacilitySummaries(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		var zones, terminals, cameras int
		for _, s := range sums {
			zones += s.Zones
			terminals += s.Terminals
			cameras += s.Cameras
		}
		var wantTerminals int
		for _, d := range c.Devices {
			if d.Kind == qorgau.DeviceTerminal {
				wantTerminals++
			}
		}
		if len(sums) != len(c.Facilities) || zones != len(c.Zones) || terminals != wantTerminals ||
			terminals+cameras != len(c.Devices) {
			t.Errorf("store holds %d facilities, %d zones, %d terminals, %d cameras; want %d, %d, %d, %d",
				len(sums), zones, terminals, cameras,
				len(c.Facilities), len(c.Zones), wantTerminals, len(c.Devices)-wantTerminals)
		}
		if bodies, err := db.Bodies(ctx); err != nil || len(bodies) != len(c.Bodies) {
			t.Errorf("Bodies = %d, %v; want %d", len(bodies), err, len(c.Bodies))
		}

		roles := map[qorgau.Role]bool{}
		for _, a := range accounts {
			roles[a.Role] = true
			u, err := db.UserByName(ctx, a.Name)
			if err != nil {
				t.Errorf("UserByName(%s) = %v", a.Name, err)
				continue
			}
			if u.Role != a.Role || u.Body != a.Body || u.Facility != a.Facility || u.MustChangePassword || u.TOTPSecret != "" {
				t.Errorf("user %s = %+v, want role %s, body %q, facility %q, no password change, no TOTP",
					a.Name, u, a.Role, a.Body, a.Facility)
			}
			if ok, err := auth.CheckPassword(u.PasswordHash, a.Password); err != nil || !ok {
				t.Errorf("CheckPassword(%s, %q) = %v, %v; want true", a.Name, a.Password, ok, err)
			}
			if err := auth.CheckNewPassword(a.Name, a.Password); err != nil {
				t.Errorf("CheckNewPassword(%s, %q) = %v, want a password the rules accept", a.Name, a.Password, err)
			}
			if a.Note == "" {
				t.Errorf("account %s has no note", a.Name)
			}
		}
		if len(accounts) != len(qorgau.Roles) || len(roles) != len(qorgau.Roles) {
			t.Errorf("Load returned %d accounts for %d roles, want one per role", len(accounts), len(roles))
		}
		for _, a := range accounts {
			switch a.Role {
			case qorgau.RoleMember:
				if a.Body != "PROS-KZ-35" {
					t.Errorf("member's body = %q, want PROS-KZ-35", a.Body)
				}
			case qorgau.RoleLiaison:
				f, err := db.Facility(ctx, a.Facility)
				if err != nil || f.Region != "KZ-35" || f.Type == qorgau.PretrialCentre || f.Type == qorgau.PoliceDetention {
					t.Errorf("liaison's facility = %+v, %v; want a Karaganda colony", f, err)
				}
			}
		}
		// One record per table written, one per account, one per member key
		// and one per body key.
		gen := demo.Generate(1)
		want := int64(4 + len(accounts) + 1 + len(gen.Bodies))
		if n, err := db.VerifyAudit(ctx, nil); err != nil || n != want {
			t.Errorf("VerifyAudit after Load = %d, %v; want an intact chain of %d records", n, err, want)
		}
		if keys, err := db.CurrentBodyKeys(ctx); err != nil || len(keys) != len(gen.Bodies) {
			t.Errorf("body keys after Load = %d, %v; want one per body (%d)", len(keys), err, len(gen.Bodies))
		}

		again, loaded, err := demo.Load(ctx, db, 1)
		if err != nil || loaded {
			t.Fatalf("second Load = loaded %v, %v; want nothing loaded", loaded, err)
		}
		if !reflect.DeepEqual(again, accounts) {
			t.Errorf("second Load accounts = %+v, want %+v", again, accounts)
		}
		if sums2, _ := db.FacilitySummaries(ctx, "", ""); len(sums2) != len(sums) {
			t.Errorf("facilities after second Load = %d, want %d", len(sums2), len(sums))
		}
	})
}

// TestLoadRealRegistry checks that a registry someone already filled gets
// neither the demo country nor the demo accounts, and a clear error.
func TestLoadRealRegistry(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if err := db.SaveFacilities(ctx, []qorgau.Facility{{Code: "X-1", Name: "Учреждение X-1", Region: "KZ-71",
			Type: qorgau.PretrialCentre, Authority: "КУИС МВД РК", Capacity: 300, Population: 250}}, nil); err != nil {
			t.Fatal(err)
		}
		accounts, loaded, err := demo.Load(ctx, db, 1)
		if qorgau.ErrorCode(err) != qorgau.EINVALID || loaded || len(accounts) != 0 {
			t.Fatalf("Load into a filled registry = %v, loaded %v, %v; want an EINVALID error and nothing", accounts, loaded, err)
		}
		if users, err := db.Users(ctx); err != nil || len(users) != 0 {
			t.Errorf("Users after Load = %v, %v; want none", users, err)
		}
		if sums, _ := db.FacilitySummaries(ctx, "", ""); len(sums) != 1 {
			t.Errorf("facilities after Load = %d, want 1", len(sums))
		}
	})
}

// TestLoadChangedAccount checks that a restart lists only the accounts that
// still log in with the published password.
func TestLoadChangedAccount(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	accounts, _, err := demo.Load(ctx, db, 7)
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash, err = auth.HashPassword("a new secret password", auth.Params{Memory: 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateUser(ctx, u, true, nil); err != nil {
		t.Fatal(err)
	}
	again, _, err := demo.Load(ctx, db, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(slices.Clone(accounts), func(a demo.Account) bool { return a.Name == "admin" })
	if !reflect.DeepEqual(again, want) {
		t.Errorf("Load after admin changed its password = %+v, want %+v", again, want)
	}
}

// TestLoadResumes checks that a load cut off before the accounts were
// written is completed by the next start instead of leaving half a country.
func TestLoadResumes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		c := demo.Generate(1)
		if err := db.SaveBodies(ctx, c.Bodies, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveFacilities(ctx, c.Facilities[:10], nil); err != nil {
			t.Fatal(err)
		}
		accounts, loaded, err := demo.Load(ctx, db, 1)
		if err != nil || !loaded || len(accounts) != 5 {
			t.Fatalf("Load after a cut-off load = %d accounts, loaded %v, %v; want the whole country and 5 accounts", len(accounts), loaded, err)
		}
		_, total, err := db.Devices(ctx, qorgau.DeviceFilter{})
		if err != nil || total != len(c.Devices) {
			t.Errorf("devices after resuming = %d, %v; want %d", total, err, len(c.Devices))
		}
	})
}
