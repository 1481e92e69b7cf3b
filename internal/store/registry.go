package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"qorgau.kz/qorgau"
)

// Regions returns every region ordered by code.
func (db *DB) Regions(ctx context.Context) ([]qorgau.Region, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT code, name_kk, name_ru, name_en FROM regions ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Region
	for rows.Next() {
		var r qorgau.Region
		if err := rows.Scan(&r.Code, &r.NameKK, &r.NameRU, &r.NameEN); err != nil {
			return nil, fmt.Errorf("list regions: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

const facilityColumns = `f.code, f.name, f.region, f.type, f.authority, f.capacity, f.population`

func scanFacility(s interface{ Scan(...any) error }, f *qorgau.Facility, extra ...any) error {
	return s.Scan(append([]any{&f.Code, &f.Name, &f.Region, &f.Type, &f.Authority, &f.Capacity, &f.Population}, extra...)...)
}

// Facilities returns every facility ordered by code.
func (db *DB) Facilities(ctx context.Context) ([]qorgau.Facility, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+facilityColumns+` FROM facilities f ORDER BY f.code`)
	if err != nil {
		return nil, fmt.Errorf("list facilities: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Facility
	for rows.Next() {
		var f qorgau.Facility
		if err := scanFacility(rows, &f); err != nil {
			return nil, fmt.Errorf("list facilities: %w", err)
		}
		list = append(list, f)
	}
	return list, rows.Err()
}

// FacilitySummaries returns facilities with their zone, terminal and camera
// counts, ordered by region and name. A non-empty region or facility code
// narrows the list.
func (db *DB) FacilitySummaries(ctx context.Context, region, facility string) ([]qorgau.FacilitySummary, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT `+facilityColumns+`,
			(SELECT COUNT(*) FROM zones z WHERE z.facility = f.code),
			(SELECT COUNT(*) FROM devices d WHERE d.facility = f.code AND d.kind = 'terminal'),
			(SELECT COUNT(*) FROM devices d WHERE d.facility = f.code AND d.kind = 'camera')
		FROM facilities f
		WHERE ($1 = '' OR f.region = $1) AND ($2 = '' OR f.code = $2)
		ORDER BY f.region, f.name`, region, facility)
	if err != nil {
		return nil, fmt.Errorf("list facilities: %w", err)
	}
	defer rows.Close()
	var list []qorgau.FacilitySummary
	for rows.Next() {
		var s qorgau.FacilitySummary
		if err := scanFacility(rows, &s.Facility, &s.Zones, &s.Terminals, &s.Cameras); err != nil {
			return nil, fmt.Errorf("list facilities: %w", err)
		}
		list = append(list, s)
	}
	return list, rows.Err()
}

// Facility returns the facility with the given code, or an ENOTFOUND error.
func (db *DB) Facility(ctx context.Context, code string) (*qorgau.Facility, error) {
	var f qorgau.Facility
	err := scanFacility(db.r.QueryRowContext(ctx, `SELECT `+facilityColumns+` FROM facilities f WHERE f.code = $1`, code), &f)
	if err != nil {
		return nil, notFound(err, "facility %q not found", code)
	}
	return &f, nil
}

// Zones returns the zones of a facility, or of every facility when facility
// is "", ordered by facility and code.
func (db *DB) Zones(ctx context.Context, facility string) ([]qorgau.Zone, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT facility, code, name, kind FROM zones
		WHERE $1 = '' OR facility = $1 ORDER BY facility, code`, facility)
	if err != nil {
		return nil, fmt.Errorf("list zones: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Zone
	for rows.Next() {
		var z qorgau.Zone
		if err := rows.Scan(&z.Facility, &z.Code, &z.Name, &z.Kind); err != nil {
			return nil, fmt.Errorf("list zones: %w", err)
		}
		list = append(list, z)
	}
	return list, rows.Err()
}

// Bodies returns every recipient body ordered by region (national first) and
// code.
func (db *DB) Bodies(ctx context.Context) ([]qorgau.Body, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT code, kind, COALESCE(region, ''), name_kk, name_ru, name_en
		FROM bodies ORDER BY COALESCE(region, ''), code`)
	if err != nil {
		return nil, fmt.Errorf("list bodies: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Body
	for rows.Next() {
		var b qorgau.Body
		if err := rows.Scan(&b.Code, &b.Kind, &b.Region, &b.NameKK, &b.NameRU, &b.NameEN); err != nil {
			return nil, fmt.Errorf("list bodies: %w", err)
		}
		list = append(list, b)
	}
	return list, rows.Err()
}

// Body returns the body with the given code, or an ENOTFOUND error.
func (db *DB) Body(ctx context.Context, code string) (*qorgau.Body, error) {
	var b qorgau.Body
	err := db.r.QueryRowContext(ctx, `SELECT code, kind, COALESCE(region, ''), name_kk, name_ru, name_en
		FROM bodies WHERE code = $1`, code).Scan(&b.Code, &b.Kind, &b.Region, &b.NameKK, &b.NameRU, &b.NameEN)
	if err != nil {
		return nil, notFound(err, "body %q not found", code)
	}
	return &b, nil
}

const deviceColumns = `id, kind, facility, COALESCE(zone, ''), interval_seconds, required_hours`

func scanDevice(s interface{ Scan(...any) error }, d *qorgau.Device) error {
	var hours string
	if err := s.Scan(&d.ID, &d.Kind, &d.Facility, &d.Zone, &d.Interval, &hours); err != nil {
		return err
	}
	sch, err := qorgau.ParseSchedule(hours)
	if err != nil {
		return fmt.Errorf("device %s: stored %w", d.ID, err)
	}
	d.Required = sch
	return nil
}

// Devices returns the devices selected by f ordered by id, and how many
// match f without its offset and limit.
func (db *DB) Devices(ctx context.Context, f qorgau.DeviceFilter) ([]qorgau.Device, int, error) {
	where := `WHERE ($1 = '' OR facility = $1) AND ($2 = '' OR kind = $2) AND ($3 = '' OR zone = $3)
		AND ($4 = '' OR facility IN (SELECT code FROM facilities WHERE region = $4))
		AND ($5 = '' OR id LIKE $5)`
	like := ""
	if f.Query != "" {
		like = "%" + strings.NewReplacer(`%`, ``, `_`, ``).Replace(f.Query) + "%"
	}
	args := []any{f.Facility, string(f.Kind), f.Zone, f.Region, like}
	var total int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count devices: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	q := `SELECT ` + deviceColumns + ` FROM devices ` + where + ` ORDER BY id`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d OFFSET %d`, limit, max(f.Offset, 0))
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Device
	for rows.Next() {
		var d qorgau.Device
		if err := scanDevice(rows, &d); err != nil {
			return nil, 0, fmt.Errorf("list devices: %w", err)
		}
		list = append(list, d)
	}
	return list, total, rows.Err()
}

// SaveRegions inserts or updates regions and appends audit, if not nil, in
// the same transaction.
func (db *DB) SaveRegions(ctx context.Context, list []qorgau.Region, audit *qorgau.AuditRecord) error {
	rows := make([][]any, len(list))
	for i, r := range list {
		rows[i] = []any{r.Code, r.NameKK, r.NameRU, r.NameEN}
	}
	return db.save(ctx, "regions", []string{"code", "name_kk", "name_ru", "name_en"}, 1, rows, audit)
}

// SaveFacilities inserts or updates facilities and appends audit, if not
// nil, in the same transaction. Regions must exist.
func (db *DB) SaveFacilities(ctx context.Context, list []qorgau.Facility, audit *qorgau.AuditRecord) error {
	rows := make([][]any, len(list))
	for i, f := range list {
		rows[i] = []any{f.Code, f.Name, f.Region, string(f.Type), f.Authority, f.Capacity, f.Population}
	}
	return db.save(ctx, "facilities", []string{"code", "name", "region", "type", "authority", "capacity", "population"}, 1, rows, audit)
}

// SaveZones inserts or updates zones and appends audit, if not nil, in the
// same transaction. Facilities must exist.
func (db *DB) SaveZones(ctx context.Context, list []qorgau.Zone, audit *qorgau.AuditRecord) error {
	rows := make([][]any, len(list))
	for i, z := range list {
		rows[i] = []any{z.Facility, z.Code, z.Name, string(z.Kind)}
	}
	return db.save(ctx, "zones", []string{"facility", "code", "name", "kind"}, 2, rows, audit)
}

// SaveBodies inserts or updates recipient bodies and appends audit, if not
// nil, in the same transaction.
func (db *DB) SaveBodies(ctx context.Context, list []qorgau.Body, audit *qorgau.AuditRecord) error {
	rows := make([][]any, len(list))
	for i, b := range list {
		rows[i] = []any{b.Code, string(b.Kind), nullIfEmpty(b.Region), b.NameKK, b.NameRU, b.NameEN}
	}
	return db.save(ctx, "bodies", []string{"code", "kind", "region", "name_kk", "name_ru", "name_en"}, 1, rows, audit)
}

// SaveDevices inserts or updates devices and appends audit, if not nil, in
// the same transaction. Facilities and zones must exist.
func (db *DB) SaveDevices(ctx context.Context, list []qorgau.Device, audit *qorgau.AuditRecord) error {
	rows := make([][]any, len(list))
	for i, d := range list {
		rows[i] = []any{d.ID, string(d.Kind), d.Facility, nullIfEmpty(d.Zone), d.Interval, d.Required.String()}
	}
	return db.save(ctx, "devices", []string{"id", "kind", "facility", "zone", "interval_seconds", "required_hours"}, 1, rows, audit)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// saveBatch is how many rows one INSERT carries: large enough to make bulk
// imports fast on both engines, small enough for SQLite's variable limit.
const saveBatch = 500

// save upserts rows into table in batches inside one transaction. The first
// nkey columns are the primary key.
func (db *DB) save(ctx context.Context, table string, cols []string, nkey int, rows [][]any, audit *qorgau.AuditRecord) error {
	var set []string
	for _, c := range cols[nkey:] {
		set = append(set, c+" = excluded."+c)
	}
	head := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES `
	tail := ` ON CONFLICT (` + strings.Join(cols[:nkey], ", ") + `) DO UPDATE SET ` + strings.Join(set, ", ")
	// SQLite finds each "$N" by a linear search over the statement's
	// parameters, which makes a 3,000-parameter INSERT quadratic (45,000
	// devices: 6 s instead of 0.3 s); anonymous "?" avoids that. PostgreSQL
	// accepts only "$N".
	anonymous := db.dialect.name == "sqlite"
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(rows); start += saveBatch {
			batch := rows[start:min(start+saveBatch, len(rows))]
			var sb strings.Builder
			sb.WriteString(head)
			args := make([]any, 0, len(batch)*len(cols))
			for i, r := range batch {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(")
				for j := range cols {
					if j > 0 {
						sb.WriteString(", ")
					}
					if anonymous {
						sb.WriteString("?")
					} else {
						fmt.Fprintf(&sb, "$%d", len(args)+j+1)
					}
				}
				sb.WriteString(")")
				args = append(args, r...)
			}
			sb.WriteString(tail)
			if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
				return fmt.Errorf("save %s: %w", table, err)
			}
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// Device returns the device with the given id, or an ENOTFOUND error.
func (db *DB) Device(ctx context.Context, id string) (*qorgau.Device, error) {
	var d qorgau.Device
	if err := scanDevice(db.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1`, id), &d); err != nil {
		return nil, notFound(err, "device %q not found", id)
	}
	return &d, nil
}
