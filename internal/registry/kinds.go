package registry

import (
	"context"
	"math"
	"strconv"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// need says which stored entries a kind's rows refer to.
type need int

const (
	needRegions need = 1 << iota
	needFacilities
	needZones
)

type zoneKey struct{ facility, code string }

// checker holds what rows are checked against: the stored entries they may
// refer to, loaded once per import so that no row costs a query.
type checker struct {
	regions    map[string]bool
	facilities map[string]bool
	zones      map[zoneKey]bool
	// hours caches parsed schedules: a registry uses a handful of them, and
	// parsing one walks every minute of the day.
	hours map[string]hoursResult
}

type hoursResult struct {
	sch qorgau.Schedule
	err error
}

func newChecker(ctx context.Context, db *store.DB, needs need) (*checker, error) {
	c := &checker{hours: make(map[string]hoursResult)}
	if needs&needRegions != 0 {
		list, err := db.Regions(ctx)
		if err != nil {
			return nil, err
		}
		c.regions = make(map[string]bool, len(list))
		for _, r := range list {
			c.regions[r.Code] = true
		}
	}
	if needs&needFacilities != 0 {
		list, err := db.Facilities(ctx)
		if err != nil {
			return nil, err
		}
		c.facilities = make(map[string]bool, len(list))
		for _, f := range list {
			c.facilities[f.Code] = true
		}
	}
	if needs&needZones != 0 {
		list, err := db.Zones(ctx, "")
		if err != nil {
			return nil, err
		}
		c.zones = make(map[zoneKey]bool, len(list))
		for _, z := range list {
			c.zones[zoneKey{z.Facility, z.Code}] = true
		}
	}
	return c, nil
}

// region returns the field col and reports it unless it names a stored
// region; an empty field is reported only if required.
func (c *checker) region(r *row, col string, required bool) string {
	v := r.text(col)
	switch {
	case v == "" && required:
		r.problem(col, "must not be empty")
	case v != "" && !c.regions[v]:
		r.problem(col, "%q is not a region in the registry", v)
	}
	return v
}

// facility returns the field col, and whether it names a stored facility;
// it reports the field if not.
func (c *checker) facility(r *row, col string) (code string, ok bool) {
	v := r.required(col)
	if v != "" && !c.facilities[v] {
		r.problem(col, "%q is not a facility in the registry (import facilities first)", v)
		return v, false
	}
	return v, v != ""
}

func (c *checker) schedule(r *row, col string) qorgau.Schedule {
	v := r.text(col)
	h, ok := c.hours[v]
	if !ok {
		h.sch, h.err = qorgau.ParseSchedule(v)
		c.hours[v] = h
	}
	if h.err != nil {
		r.problem(col, "%s", qorgau.ErrorMessage(h.err))
	}
	return h.sch
}

var regionTable = &table[qorgau.Region]{
	columns: []string{"code", "name_kk", "name_ru", "name_en"},
	nkey:    1,
	parse: func(c *checker, r *row) qorgau.Region {
		return qorgau.Region{
			Code:   r.code("code"),
			NameKK: r.required("name_kk"),
			NameRU: r.required("name_ru"),
			NameEN: r.required("name_en"),
		}
	},
	validate: (*qorgau.Region).Validate,
	record: func(x *qorgau.Region) []string {
		return []string{x.Code, x.NameKK, x.NameRU, x.NameEN}
	},
	load: func(ctx context.Context, db *store.DB) ([]qorgau.Region, error) { return db.Regions(ctx) },
	save: func(ctx context.Context, db *store.DB, list []qorgau.Region, audit *qorgau.AuditRecord) error {
		return db.SaveRegions(ctx, list, audit)
	},
}

var facilityTable = &table[qorgau.Facility]{
	columns: []string{"code", "name", "region", "type", "authority", "capacity", "population"},
	nkey:    1,
	needs:   needRegions,
	parse: func(c *checker, r *row) qorgau.Facility {
		return qorgau.Facility{
			Code:       r.code("code"),
			Name:       r.required("name"),
			Region:     c.region(r, "region", true),
			Type:       choice(r, "type", "facility type", qorgau.FacilityTypes),
			Authority:  r.required("authority"),
			Capacity:   r.number("capacity", 0, math.MaxInt),
			Population: r.number("population", 0, math.MaxInt),
		}
	},
	validate: (*qorgau.Facility).Validate,
	record: func(x *qorgau.Facility) []string {
		return []string{x.Code, x.Name, x.Region, string(x.Type), x.Authority,
			strconv.Itoa(x.Capacity), strconv.Itoa(x.Population)}
	},
	load: func(ctx context.Context, db *store.DB) ([]qorgau.Facility, error) { return db.Facilities(ctx) },
	save: func(ctx context.Context, db *store.DB, list []qorgau.Facility, audit *qorgau.AuditRecord) error {
		return db.SaveFacilities(ctx, list, audit)
	},
}

var zoneTable = &table[qorgau.Zone]{
	columns: []string{"facility", "code", "name", "kind"},
	nkey:    2,
	needs:   needFacilities,
	parse: func(c *checker, r *row) qorgau.Zone {
		facility, _ := c.facility(r, "facility")
		return qorgau.Zone{
			Facility: facility,
			Code:     r.code("code"),
			Name:     r.required("name"),
			Kind:     choice(r, "kind", "zone kind", qorgau.ZoneKinds),
		}
	},
	validate: (*qorgau.Zone).Validate,
	record: func(x *qorgau.Zone) []string {
		return []string{x.Facility, x.Code, x.Name, string(x.Kind)}
	},
	load: func(ctx context.Context, db *store.DB) ([]qorgau.Zone, error) { return db.Zones(ctx, "") },
	save: func(ctx context.Context, db *store.DB, list []qorgau.Zone, audit *qorgau.AuditRecord) error {
		return db.SaveZones(ctx, list, audit)
	},
}

var deviceTable = &table[qorgau.Device]{
	columns: []string{"id", "kind", "facility", "zone", "interval_seconds", "required_hours"},
	nkey:    1,
	needs:   needFacilities | needZones,
	parse: func(c *checker, r *row) qorgau.Device {
		d := qorgau.Device{
			ID:   r.code("id"),
			Kind: choice(r, "kind", "device kind", qorgau.DeviceKinds),
		}
		facility, known := c.facility(r, "facility")
		d.Facility = facility
		d.Zone = r.text("zone")
		if known && d.Zone != "" && !c.zones[zoneKey{d.Facility, d.Zone}] {
			r.problem("zone", "%q is not a zone of facility %q", d.Zone, d.Facility)
		}
		d.Interval = r.number("interval_seconds", 1, qorgau.MaxInterval)
		d.Required = c.schedule(r, "required_hours")
		return d
	},
	validate: (*qorgau.Device).Validate,
	record: func(x *qorgau.Device) []string {
		return []string{x.ID, string(x.Kind), x.Facility, x.Zone, strconv.Itoa(x.Interval), x.Required.String()}
	},
	load: func(ctx context.Context, db *store.DB) ([]qorgau.Device, error) {
		list, _, err := db.Devices(ctx, qorgau.DeviceFilter{})
		return list, err
	},
	save: func(ctx context.Context, db *store.DB, list []qorgau.Device, audit *qorgau.AuditRecord) error {
		return db.SaveDevices(ctx, list, audit)
	},
}

var bodyTable = &table[qorgau.Body]{
	columns: []string{"code", "kind", "region", "name_kk", "name_ru", "name_en"},
	nkey:    1,
	needs:   needRegions,
	parse: func(c *checker, r *row) qorgau.Body {
		return qorgau.Body{
			Code:   r.code("code"),
			Kind:   choice(r, "kind", "body kind", qorgau.BodyKinds),
			Region: c.region(r, "region", false),
			NameKK: r.required("name_kk"),
			NameRU: r.required("name_ru"),
			NameEN: r.required("name_en"),
		}
	},
	validate: (*qorgau.Body).Validate,
	record: func(x *qorgau.Body) []string {
		return []string{x.Code, string(x.Kind), x.Region, x.NameKK, x.NameRU, x.NameEN}
	},
	load: func(ctx context.Context, db *store.DB) ([]qorgau.Body, error) { return db.Bodies(ctx) },
	save: func(ctx context.Context, db *store.DB, list []qorgau.Body, audit *qorgau.AuditRecord) error {
		return db.SaveBodies(ctx, list, audit)
	},
}
