package demo

import (
	"context"
	"fmt"
	"strings"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/store"
)

// Account is a demo login, printed when the demo starts. Its password is
// fixed and published: anyone who can reach a demo console can log in.
type Account struct {
	Name     string
	Password string
	Role     qorgau.Role
	Body     string // body code, for a member
	Facility string // facility code, for a liaison
	Note     string // what the account is for, in English
}

// demoNote begins every account's note.
const demoNote = "demo account, fixed published password: "

// account is an Account with what only its creation needs.
type account struct {
	Account
	fullName string
}

// accounts returns one demo account per role. The passwords obey the rules
// of auth.CheckNewPassword, so a demo account behaves like a real one.
func accounts(c *Country) []account {
	liaison := c.Facilities[0]
	for _, f := range c.Facilities {
		if f.Region == karagandaRegion && isColony(f.Type) {
			liaison = f
			break
		}
	}
	return []account{
		{Account{Name: "admin", Password: "demo-2026-registry", Role: qorgau.RoleAdmin,
			Note: demoNote + "runs the registry, the accounts and the audit log; reads no complaints"},
			"Администратор (демо)"},
		{Account{Name: "prosecutor", Password: "demo-2026-inbox", Role: qorgau.RoleMember, Body: karagandaProsecutor,
			Note: demoNote + "member of the Karaganda Region Prosecutor's Office; works its complaint inbox"},
			"Прокурор Карагандинской области (демо)"},
		{Account{Name: "npm", Password: "demo-2026-visits", Role: qorgau.RoleNPM,
			Note: demoNote + "coordinator of the National Preventive Mechanism; plans visits"},
			"Координатор НПМ (демо)"},
		{Account{Name: "liaison", Password: "demo-2026-devices", Role: qorgau.RoleLiaison, Facility: liaison.Code,
			Note: demoNote + "liaison of one facility; sees the health of its devices only"},
			"Связной: " + liaison.Name + " (демо)"},
		{Account{Name: "auditor", Password: "demo-2026-statistics", Role: qorgau.RoleAuditor,
			Note: demoNote + "sees statistics and the audit log only"},
			"Аудитор (демо)"},
	}
}

// Load writes the country Generate(seed) builds, and one account per role,
// into db if the registry holds no facility yet, and returns the accounts
// with loaded true. The whole load takes a few seconds on SQLite.
//
// If the registry already holds facilities, Load writes nothing and returns
// loaded false with the demo accounts that still work as published: those
// that exist, are enabled, keep their role and accept the demo password.
// A restart of the demo therefore prints the same accounts, and a real
// registry gets no demo accounts.
//
// Load returns an EINVALID error if the store lacks one of Kazakhstan's
// regions, and the store's errors otherwise. The registry is written in
// several transactions: after an error part-way, start again from an empty
// database.
func Load(ctx context.Context, db *store.DB, seed int64) (list []Account, loaded bool, err error) {
	existing, err := db.Facilities(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("load demo: %w", err)
	}
	c := Generate(seed)
	if len(existing) > 0 {
		// A registry that is not this country's is not the demo's to touch.
		ours := map[string]bool{}
		for _, f := range c.Facilities {
			ours[f.Code] = true
		}
		for _, f := range existing {
			if !ours[f.Code] {
				return nil, false, qorgau.Errorf(qorgau.EINVALID,
					"the database holds facility %q, which is not in the demo country (seed %d): use an empty data folder for the demo", f.Code, seed)
			}
		}
	}
	// The accounts are written last, so their absence means an earlier load
	// was cut off; every write is an upsert, so loading again completes it.
	complete, err := hasAccounts(ctx, db, c)
	if err != nil {
		return nil, false, err
	}
	if len(existing) > 0 && complete {
		list, err := ensureAccountsAndKeys(ctx, db, c, false)
		return list, false, err
	}

	if err := checkRegions(ctx, db); err != nil {
		return nil, false, err
	}
	audit := func(what string, n int) *qorgau.AuditRecord {
		return &qorgau.AuditRecord{Actor: "system", Action: qorgau.AuditImport, Target: what,
			Detail: fmt.Sprintf("demo country, seed %d: %d %s", seed, n, what)}
	}
	if err := db.SaveBodies(ctx, c.Bodies, audit("bodies", len(c.Bodies))); err != nil {
		return nil, false, fmt.Errorf("load demo: %w", err)
	}
	if err := db.SaveFacilities(ctx, c.Facilities, audit("facilities", len(c.Facilities))); err != nil {
		return nil, false, fmt.Errorf("load demo: %w", err)
	}
	if err := db.SaveZones(ctx, c.Zones, audit("zones", len(c.Zones))); err != nil {
		return nil, false, fmt.Errorf("load demo: %w", err)
	}
	if err := db.SaveDevices(ctx, c.Devices, audit("devices", len(c.Devices))); err != nil {
		return nil, false, fmt.Errorf("load demo: %w", err)
	}
	list, err = ensureAccountsAndKeys(ctx, db, c, true)
	return list, err == nil, err
}

// ensureAccountsAndKeys returns the demo accounts that work as published,
// creating missing ones if create is set, and makes sure every body has a
// key.
func ensureAccountsAndKeys(ctx context.Context, db *store.DB, c *Country, create bool) ([]Account, error) {
	var list []Account
	for _, a := range accounts(c) {
		got, ok, err := ensureAccount(ctx, db, a, create)
		if err != nil {
			return nil, err
		}
		if ok {
			list = append(list, got)
		}
	}
	if err := ensureKeys(ctx, db, c); err != nil {
		return nil, fmt.Errorf("load demo keys: %w", err)
	}
	return list, nil
}

// ensureAccount returns the demo account a as the store holds it, and
// whether it works as published. A missing account is created if create
// is set.
func ensureAccount(ctx context.Context, db *store.DB, a account, create bool) (Account, bool, error) {
	u, err := db.UserByName(ctx, a.Name)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		if !create {
			return Account{}, false, nil
		}
		hash, err := auth.HashPassword(a.Password, auth.DefaultParams)
		if err != nil {
			return Account{}, false, fmt.Errorf("demo account %s: %w", a.Name, err)
		}
		u := &qorgau.User{Name: a.Name, FullName: a.fullName, Role: a.Role, Body: a.Body,
			Facility: a.Facility, PasswordHash: hash}
		if err := db.CreateUser(ctx, u, &qorgau.AuditRecord{Actor: "system", Action: qorgau.AuditUserAdded,
			Target: a.Name, Detail: "demo account, role " + string(a.Role)}); err != nil {
			return Account{}, false, fmt.Errorf("demo account %s: %w", a.Name, err)
		}
		return a.Account, true, nil
	} else if err != nil {
		return Account{}, false, fmt.Errorf("demo account %s: %w", a.Name, err)
	}
	if u.Disabled || u.Role != a.Role {
		return Account{}, false, nil
	}
	// A hash that does not parse cannot let anyone in with the demo
	// password either; the login page reports it, not the demo.
	if ok, err := auth.CheckPassword(u.PasswordHash, a.Password); err != nil || !ok {
		return Account{}, false, nil
	}
	got := a.Account
	got.Body, got.Facility = u.Body, u.Facility
	return got, true, nil
}

// checkRegions returns an EINVALID error naming the regions the demo uses that the
// store does not hold: another country's regions were imported.
func checkRegions(ctx context.Context, db *store.DB) error {
	stored, err := db.Regions(ctx)
	if err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	have := map[string]bool{}
	for _, r := range stored {
		have[r.Code] = true
	}
	var missing []string
	for _, reg := range regions {
		if !have[reg.code] {
			missing = append(missing, reg.code)
		}
	}
	if len(missing) > 0 {
		return qorgau.Errorf(qorgau.EINVALID, "the demo needs Kazakhstan's regions; the registry lacks %s",
			strings.Join(missing, ", "))
	}
	return nil
}

// hasAccounts reports whether every demo account exists.
func hasAccounts(ctx context.Context, db *store.DB, c *Country) (bool, error) {
	for _, a := range accounts(c) {
		if _, err := db.UserByName(ctx, a.Name); qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	return true, nil
}
