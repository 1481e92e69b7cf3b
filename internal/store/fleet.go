package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"qorgau.kz/qorgau"
)

// utc returns t in UTC at the microsecond precision both engines keep.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// DeviceStates returns the persisted state of every device that has one.
func (db *DB) DeviceStates(ctx context.Context) ([]qorgau.DeviceState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT device, up, since, last_seen, boot FROM device_states ORDER BY device`)
	if err != nil {
		return nil, fmt.Errorf("device states: %w", err)
	}
	defer rows.Close()
	var list []qorgau.DeviceState
	for rows.Next() {
		var s qorgau.DeviceState
		if err := rows.Scan(&s.Device, &s.Up, &s.Since, &s.LastSeen, &s.Boot); err != nil {
			return nil, fmt.Errorf("device states: %w", err)
		}
		s.Since, s.LastSeen = s.Since.UTC(), s.LastSeen.UTC()
		list = append(list, s)
	}
	return list, rows.Err()
}

func saveState(ctx context.Context, tx *sql.Tx, s *qorgau.DeviceState) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO device_states (device, up, since, last_seen, boot) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (device) DO UPDATE SET up = excluded.up, since = excluded.since, last_seen = excluded.last_seen, boot = excluded.boot`,
		s.Device, s.Up, utc(s.Since), utc(s.LastSeen), s.Boot)
	if err != nil {
		return fmt.Errorf("save device state: %w", err)
	}
	return nil
}

// SaveDeviceState records a device's state, replacing the one before. The
// tracker calls it when a device first reports.
func (db *DB) SaveDeviceState(ctx context.Context, s *qorgau.DeviceState) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return saveState(ctx, tx, s) })
}

// OpenOutage records that a device went silent: it inserts o, setting its
// ID, and marks the device down, in one transaction. A device with an
// outage still open is an ECONFLICT error.
func (db *DB) OpenOutage(ctx context.Context, o *qorgau.Outage, lastSeen time.Time, boot string) error {
	return db.OpenOutages(ctx, []*qorgau.Outage{o}, []qorgau.DeviceState{{Device: o.Device, Since: o.Start, LastSeen: lastSeen, Boot: boot}})
}

// OpenOutages opens many outages, and records the matching device states
// (marked down), in one transaction: a sweep that finds a whole facility
// silent writes it at once. It sets each outage's ID. A device with an
// outage still open is an ECONFLICT error and nothing is written.
func (db *DB) OpenOutages(ctx context.Context, list []*qorgau.Outage, states []qorgau.DeviceState) error {
	if len(list) != len(states) {
		return fmt.Errorf("open outages: %d outages but %d states", len(list), len(states))
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for k, o := range list {
			err := tx.QueryRowContext(ctx, `INSERT INTO outages (device, facility, started_at, cause, detail, required)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				o.Device, o.Facility, utc(o.Start), string(o.Cause), o.Detail, o.Required).Scan(&o.ID)
			if isUniqueViolation(err) {
				return qorgau.Errorf(ECONFLICT, "device %s already has an open outage", o.Device)
			} else if err != nil {
				return fmt.Errorf("open outage: %w", err)
			}
			st := states[k]
			st.Up = false
			if err := saveState(ctx, tx, &st); err != nil {
				return err
			}
		}
		return nil
	})
}

// CloseOutage ends the open outage of a device at end and marks it up, in
// one transaction. It returns the closed outage, or ENOTFOUND if none was
// open (the state is still recorded).
func (db *DB) CloseOutage(ctx context.Context, device string, end time.Time, boot string) (*qorgau.Outage, error) {
	var o qorgau.Outage
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveState(ctx, tx, &qorgau.DeviceState{Device: device, Up: true, Since: end, LastSeen: end, Boot: boot}); err != nil {
			return err
		}
		row := tx.QueryRowContext(ctx, `UPDATE outages SET ended_at = $1 WHERE device = $2 AND ended_at IS NULL
			RETURNING `+outageColumns, utc(end), device)
		if err := scanOutage(row, &o); err != nil {
			return notFound(err, "device %s has no open outage", device)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// SetOutageCause records the cause inferred for an outage.
func (db *DB) SetOutageCause(ctx context.Context, id int64, cause qorgau.OutageCause, detail string) error {
	res, err := db.w.ExecContext(ctx, `UPDATE outages SET cause = $1, detail = $2 WHERE id = $3`, string(cause), detail, id)
	if err != nil {
		return fmt.Errorf("set outage cause: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return qorgau.Errorf(ENOTFOUND, "no outage %d", id)
	}
	return nil
}

const outageColumns = `id, device, facility, started_at, ended_at, cause, detail, required`

func scanOutage(s interface{ Scan(...any) error }, o *qorgau.Outage) error {
	var end sql.NullTime
	var cause string
	if err := s.Scan(&o.ID, &o.Device, &o.Facility, &o.Start, &end, &cause, &o.Detail, &o.Required); err != nil {
		return err
	}
	o.Start, o.Cause = o.Start.UTC(), qorgau.OutageCause(cause)
	o.End = time.Time{}
	if end.Valid {
		o.End = end.Time.UTC()
	}
	return nil
}

// Outages returns the outages selected by f, oldest first.
func (db *DB) Outages(ctx context.Context, f qorgau.OutageFilter) ([]qorgau.Outage, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Device != "" {
		where = append(where, "device = "+arg(f.Device))
	}
	if f.Facility != "" {
		where = append(where, "facility = "+arg(f.Facility))
	}
	if f.Region != "" {
		where = append(where, "facility IN (SELECT code FROM facilities WHERE region = "+arg(f.Region)+")")
	}
	if !f.To.IsZero() {
		where = append(where, "started_at < "+arg(utc(f.To)))
	}
	if !f.From.IsZero() {
		where = append(where, "(ended_at IS NULL OR ended_at > "+arg(utc(f.From))+")")
	}
	if f.OpenOnly {
		where = append(where, "ended_at IS NULL")
	}
	q := `SELECT ` + outageColumns + ` FROM outages`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY started_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list outages: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Outage
	for rows.Next() {
		var o qorgau.Outage
		if err := scanOutage(rows, &o); err != nil {
			return nil, fmt.Errorf("list outages: %w", err)
		}
		list = append(list, o)
	}
	return list, rows.Err()
}

// JournalHead returns the sequence number and hash of the last journal
// entry held for a terminal: 0 and qorgau.JournalGenesis if none.
func (db *DB) JournalHead(ctx context.Context, device string) (int64, string, error) {
	return journalHead(ctx, db.r, device)
}

func journalHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, device string) (int64, string, error) {
	var seq int64
	var hash string
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM terminal_journals WHERE device = $1 ORDER BY seq DESC LIMIT 1`, device).Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		return 0, qorgau.JournalGenesis, nil
	} else if err != nil {
		return 0, "", fmt.Errorf("journal head: %w", err)
	}
	return seq, hash, nil
}

// AppendJournal appends entries to a terminal's journal after checking, in
// the same transaction, that they continue the stored chain
// (qorgau.CheckJournal). It returns the new head's sequence number. A
// broken chain is an EINVALID error and stores nothing.
func (db *DB) AppendJournal(ctx context.Context, device string, entries []qorgau.JournalEntry) (int64, error) {
	head, _, err := db.appendJournal(ctx, device, nil, entries)
	return head, err
}

// AppendJournalAfter is AppendJournal for a terminal whose journal starts
// after an entry it has dropped: if the server holds less of the chain
// than after.Seq, the entries must chain to after instead of to what the
// server holds. That happens only when the server lost entries it had
// acknowledged (a restore from an older backup); the entries from the
// server's head + 1 to after.Seq are then missing for good, and lost
// returns the first of them (0 if none are).
func (db *DB) AppendJournalAfter(ctx context.Context, device string, after qorgau.JournalLink, entries []qorgau.JournalEntry) (head, lost int64, err error) {
	return db.appendJournal(ctx, device, &after, entries)
}

func (db *DB) appendJournal(ctx context.Context, device string, after *qorgau.JournalLink, entries []qorgau.JournalEntry) (head, lost int64, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		seq, prev, err := journalHead(ctx, tx, device)
		if err != nil {
			return err
		}
		lost = 0
		if after != nil && seq < after.Seq {
			lost, seq, prev = seq+1, after.Seq, after.Hash
		}
		if err := qorgau.CheckJournal(seq, prev, entries); err != nil {
			return err
		}
		for i := range entries {
			e := &entries[i]
			if _, err := tx.ExecContext(ctx, `INSERT INTO terminal_journals (device, seq, at, boot, kind, detail, prev, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				device, e.Seq, e.Time.UTC(), e.Boot, string(e.Kind), e.Detail, e.Prev, e.Hash); err != nil {
				return fmt.Errorf("append journal: %w", err)
			}
			seq = e.Seq
		}
		head = seq
		return nil
	})
	return head, lost, err
}

// Journal returns a terminal's journal entries whose time falls in
// [from, to), in sequence order. Times are kept as the terminal sent them,
// to the microsecond.
func (db *DB) Journal(ctx context.Context, device string, from, to time.Time) ([]qorgau.JournalEntry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, at, boot, kind, detail, prev, hash FROM terminal_journals
		WHERE device = $1 AND at >= $2 AND at < $3 ORDER BY seq`, device, utc(from), utc(to))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer rows.Close()
	var list []qorgau.JournalEntry
	for rows.Next() {
		var e qorgau.JournalEntry
		var kind string
		if err := rows.Scan(&e.Seq, &e.Time, &e.Boot, &kind, &e.Detail, &e.Prev, &e.Hash); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		e.Time, e.Kind = e.Time.UTC(), qorgau.JournalKind(kind)
		list = append(list, e)
	}
	return list, rows.Err()
}

// SaveUsage stores a terminal's usage counters for a day, replacing what
// it reported before for that day. The report must be valid.
func (db *DB) SaveUsage(ctx context.Context, device string, u *qorgau.UsageReport) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_counters WHERE device = $1 AND day = $2`, device, u.Day); err != nil {
			return fmt.Errorf("save usage: %w", err)
		}
		for _, step := range qorgau.KioskSteps {
			r, a := u.Reached[step], u.Abandoned[step]
			if r == 0 && a == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO usage_counters (device, day, step, reached, abandoned) VALUES ($1, $2, $3, $4, $5)`,
				device, u.Day, step, r, a); err != nil {
				return fmt.Errorf("save usage: %w", err)
			}
		}
		return nil
	})
}

// Usage returns a terminal's counters for a day; a day without a report
// has empty maps.
func (db *DB) Usage(ctx context.Context, device, day string) (*qorgau.UsageReport, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT step, reached, abandoned FROM usage_counters WHERE device = $1 AND day = $2`, device, day)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	u := &qorgau.UsageReport{Day: day, Reached: map[string]int{}, Abandoned: map[string]int{}}
	for rows.Next() {
		var step string
		var r, a int
		if err := rows.Scan(&step, &r, &a); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		if r != 0 {
			u.Reached[step] = r
		}
		if a != 0 {
			u.Abandoned[step] = a
		}
	}
	return u, rows.Err()
}

// CreateCameraSource stores a camera source with the SHA-256 of its token,
// setting its ID, and appends audit in the same transaction. A name in use
// is an ECONFLICT error; an unknown region or facility EINVALID.
func (db *DB) CreateCameraSource(ctx context.Context, src *qorgau.CameraSource, tokenHash string, audit *qorgau.AuditRecord) error {
	if err := src.Validate(); err != nil {
		return err
	}
	src.Created = db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO camera_sources (name, token_hash, region, facility, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			src.Name, tokenHash, nullIfEmpty(src.Region), nullIfEmpty(src.Facility), src.Created).Scan(&src.ID)
		switch {
		case isUniqueViolation(err):
			return qorgau.Errorf(ECONFLICT, "a camera source named %q exists", src.Name)
		case isForeignKeyViolation(err):
			return qorgau.Errorf(EINVALID, "no region %q or facility %q", src.Region, src.Facility)
		case err != nil:
			return fmt.Errorf("create camera source: %w", err)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

const sourceColumns = `id, name, COALESCE(region, ''), COALESCE(facility, ''), created_at, revoked_at IS NOT NULL`

func scanSource(s interface{ Scan(...any) error }, c *qorgau.CameraSource) error {
	if err := s.Scan(&c.ID, &c.Name, &c.Region, &c.Facility, &c.Created, &c.Revoked); err != nil {
		return err
	}
	c.Created = c.Created.UTC()
	return nil
}

// CameraSourceByToken returns the active source whose token hashes to
// tokenHash, or an EUNAUTHORIZED error.
func (db *DB) CameraSourceByToken(ctx context.Context, tokenHash string) (*qorgau.CameraSource, error) {
	var c qorgau.CameraSource
	err := scanSource(db.r.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM camera_sources WHERE token_hash = $1 AND revoked_at IS NULL`, tokenHash), &c)
	if err == sql.ErrNoRows {
		return nil, qorgau.Errorf(qorgau.EUNAUTHORIZED, "unknown or revoked source token")
	} else if err != nil {
		return nil, fmt.Errorf("camera source: %w", err)
	}
	return &c, nil
}

// CameraSources returns every camera source ordered by name.
func (db *DB) CameraSources(ctx context.Context) ([]qorgau.CameraSource, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+sourceColumns+` FROM camera_sources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("camera sources: %w", err)
	}
	defer rows.Close()
	var list []qorgau.CameraSource
	for rows.Next() {
		var c qorgau.CameraSource
		if err := scanSource(rows, &c); err != nil {
			return nil, fmt.Errorf("camera sources: %w", err)
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// RevokeCameraSource stops a source's token working and appends audit in
// the same transaction; ENOTFOUND if no active source has that name.
func (db *DB) RevokeCameraSource(ctx context.Context, name string, audit *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE camera_sources SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, db.now(), name)
		if err != nil {
			return fmt.Errorf("revoke camera source: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return qorgau.Errorf(ENOTFOUND, "no active camera source %q", name)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// DeclareMaintenance stores a maintenance window, setting its ID and
// DeclaredAt, and appends audit in the same transaction. The window must be
// valid, start no earlier than now (it is declared in advance), and name a
// device of its facility if it names one.
func (db *DB) DeclareMaintenance(ctx context.Context, m *qorgau.Maintenance, audit *qorgau.AuditRecord) error {
	if err := m.Validate(); err != nil {
		return err
	}
	now := db.now()
	if m.From.Before(now) {
		return qorgau.Errorf(EINVALID, "maintenance must be declared in advance: the window starts in the past")
	}
	if m.Device != "" {
		d, err := db.Device(ctx, m.Device)
		if qorgau.ErrorCode(err) == ENOTFOUND || err == nil && d.Facility != m.Facility {
			return qorgau.Errorf(EINVALID, "facility %s has no device %s", m.Facility, m.Device)
		} else if err != nil {
			return err
		}
	}
	m.DeclaredAt = now
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO maintenance_windows (facility, device, starts_at, ends_at, reason, declared_by, declared_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			m.Facility, nullIfEmpty(m.Device), utc(m.From), utc(m.To), m.Reason, m.DeclaredBy, now).Scan(&m.ID)
		if isForeignKeyViolation(err) {
			return qorgau.Errorf(EINVALID, "no facility %q", m.Facility)
		} else if err != nil {
			return fmt.Errorf("declare maintenance: %w", err)
		}
		if audit != nil {
			return db.appendAudit(ctx, tx, audit)
		}
		return nil
	})
}

// MaintenanceWindows returns the windows that overlap [from, to), of one
// facility or (facility "") of all, ordered by start.
func (db *DB) MaintenanceWindows(ctx context.Context, facility string, from, to time.Time) ([]qorgau.Maintenance, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, facility, COALESCE(device, ''), starts_at, ends_at, reason, declared_by, declared_at
		FROM maintenance_windows WHERE ($1 = '' OR facility = $1) AND starts_at < $2 AND ends_at > $3 ORDER BY starts_at, id`,
		facility, utc(to), utc(from))
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Maintenance
	for rows.Next() {
		var m qorgau.Maintenance
		if err := rows.Scan(&m.ID, &m.Facility, &m.Device, &m.From, &m.To, &m.Reason, &m.DeclaredBy, &m.DeclaredAt); err != nil {
			return nil, fmt.Errorf("maintenance windows: %w", err)
		}
		m.From, m.To, m.DeclaredAt = m.From.UTC(), m.To.UTC(), m.DeclaredAt.UTC()
		list = append(list, m)
	}
	return list, rows.Err()
}

// AddFleetAlarm records an alarm, setting its ID and, if zero, its time.
func (db *DB) AddFleetAlarm(ctx context.Context, a *qorgau.FleetAlarm) error {
	if a.Time.IsZero() {
		a.Time = db.now()
	}
	err := db.w.QueryRowContext(ctx, `INSERT INTO fleet_alarms (at, device, facility, kind, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		utc(a.Time), a.Device, a.Facility, string(a.Kind), a.Detail).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("add fleet alarm: %w", err)
	}
	return nil
}

// FleetAlarms returns the newest alarms of a facility (or of all, with
// facility ""), newest first, at most limit.
func (db *DB) FleetAlarms(ctx context.Context, facility string, limit int) ([]qorgau.FleetAlarm, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, fmt.Sprintf(`SELECT id, at, device, facility, kind, detail FROM fleet_alarms
		WHERE ($1 = '' OR facility = $1) ORDER BY at DESC, id DESC LIMIT %d`, limit), facility)
	if err != nil {
		return nil, fmt.Errorf("fleet alarms: %w", err)
	}
	defer rows.Close()
	var list []qorgau.FleetAlarm
	for rows.Next() {
		var a qorgau.FleetAlarm
		var kind string
		if err := rows.Scan(&a.ID, &a.Time, &a.Device, &a.Facility, &kind, &a.Detail); err != nil {
			return nil, fmt.Errorf("fleet alarms: %w", err)
		}
		a.Time, a.Kind = a.Time.UTC(), qorgau.AlarmKind(kind)
		list = append(list, a)
	}
	return list, rows.Err()
}

// StepUsage is how many people reached a kiosk step, and how many gave up
// there, summed over terminals and days.
type StepUsage struct {
	Step      string
	Reached   int
	Abandoned int
}

// FacilityUsage sums the usage counters of a facility's terminals over the
// days from fromDay to toDay (YYYY-MM-DD, inclusive), in the order of
// qorgau.KioskSteps; steps nobody reached are left out.
func (db *DB) FacilityUsage(ctx context.Context, facility, fromDay, toDay string) ([]StepUsage, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT u.step, SUM(u.reached), SUM(u.abandoned) FROM usage_counters u
		JOIN devices d ON d.id = u.device WHERE d.facility = $1 AND u.day >= $2 AND u.day <= $3 GROUP BY u.step`,
		facility, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("facility usage: %w", err)
	}
	defer rows.Close()
	by := map[string]StepUsage{}
	for rows.Next() {
		var s StepUsage
		if err := rows.Scan(&s.Step, &s.Reached, &s.Abandoned); err != nil {
			return nil, fmt.Errorf("facility usage: %w", err)
		}
		by[s.Step] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var list []StepUsage
	for _, step := range qorgau.KioskSteps {
		if s, ok := by[step]; ok {
			list = append(list, s)
		}
	}
	return list, nil
}

// MarkWatched records now as the time the fleet watch began to watch every
// device that has no such time yet, and returns the times of all devices.
func (db *DB) MarkWatched(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	if _, err := db.w.ExecContext(ctx, `UPDATE devices SET watched_since = $1 WHERE watched_since IS NULL`, now.UTC()); err != nil {
		return nil, fmt.Errorf("mark devices watched: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, watched_since FROM devices WHERE watched_since IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("devices watched: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			return nil, fmt.Errorf("devices watched: %w", err)
		}
		out[id] = t
	}
	return out, rows.Err()
}
