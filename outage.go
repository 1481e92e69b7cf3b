package qorgau

import "time"

// DeviceState is a device's last known state as the fleet watch persists
// it: written when the device goes down or comes back, not on every beat.
type DeviceState struct {
	Device   string
	Up       bool
	Since    time.Time // when the device entered this state
	LastSeen time.Time // its last heartbeat known at that moment
	Boot     string    // a terminal's boot id at its last heartbeat
}

// Outage is a silence of a device longer than twice its interval. It is
// open while End is zero. Required tells whether it began in the device's
// required hours.
type Outage struct {
	ID       int64
	Device   string
	Facility string
	Start    time.Time
	End      time.Time // zero while open
	Cause    OutageCause
	Detail   string
	Required bool
}

// Open reports whether the device is still silent.
func (o *Outage) Open() bool { return o.End.IsZero() }

// OutageFilter selects outages that overlap [From, To). Zero fields do not
// filter.
type OutageFilter struct {
	Device   string
	Facility string
	Region   string
	From, To time.Time
	OpenOnly bool
	Limit    int
}

// Maintenance is a window a facility's liaison declared in advance, during
// which a device (or, with Device empty, every device of the facility) may
// be off. Silence in it has cause maintenance and is counted apart.
type Maintenance struct {
	ID         int64
	Facility   string
	Device     string // "" for the whole facility
	From, To   time.Time
	Reason     string
	DeclaredBy string
	DeclaredAt time.Time
}

// MaxMaintenance bounds one declared window.
const MaxMaintenance = 7 * 24 * time.Hour

// Validate returns an EINVALID error naming the first bad field.
func (m *Maintenance) Validate() error {
	if err := checkCode("facility", m.Facility); err != nil {
		return err
	}
	if m.Device != "" {
		if err := checkCode("device", m.Device); err != nil {
			return err
		}
	}
	if m.From.IsZero() || m.To.IsZero() || !m.To.After(m.From) {
		return Errorf(EINVALID, "a maintenance window needs a start before its end")
	}
	if m.To.Sub(m.From) > MaxMaintenance {
		return Errorf(EINVALID, "a maintenance window may last at most %s", MaxMaintenance)
	}
	if err := checkName("reason", m.Reason); err != nil {
		return err
	}
	return nil
}

// Covers reports whether the window covers device of facility at t.
func (m *Maintenance) Covers(facility, device string, t time.Time) bool {
	return m.Facility == facility && (m.Device == "" || m.Device == device) && !t.Before(m.From) && t.Before(m.To)
}

// CameraSource is a VMS or a poller that reports cameras in batches with a
// bearer token. Its scope is a region, a facility, or (both empty) the
// whole country.
type CameraSource struct {
	ID       int64
	Name     string
	Region   string
	Facility string
	Created  time.Time
	Revoked  bool
}

// Validate returns an EINVALID error naming the first bad field.
func (c *CameraSource) Validate() error {
	if err := checkCode("source name", c.Name); err != nil {
		return err
	}
	if c.Region != "" && c.Facility != "" {
		return Errorf(EINVALID, "a source is scoped to a region or a facility, not both")
	}
	if c.Region != "" {
		if err := checkCode("region", c.Region); err != nil {
			return err
		}
	}
	if c.Facility != "" {
		if err := checkCode("facility", c.Facility); err != nil {
			return err
		}
	}
	return nil
}

// AlarmKind is what a fleet alarm is about.
type AlarmKind string

// Alarm kinds.
const (
	AlarmJournalBroken AlarmKind = "journal_broken" // an uploaded journal did not continue its chain
	AlarmJournalGap    AlarmKind = "journal_gap"    // the server lost journal entries it had acknowledged
	AlarmLogRollback   AlarmKind = "log_rollback"   // a terminal has seen a larger log than the server serves
	AlarmTamper        AlarmKind = "tamper"         // a terminal's case was opened
)

// FleetAlarm is an event the fleet watch records because it must not
// happen in a sound system.
type FleetAlarm struct {
	ID       int64
	Time     time.Time
	Device   string
	Facility string
	Kind     AlarmKind
	Detail   string
}

// Audit actions of the fleet watch.
const (
	AuditSourceAdded         = "source.added"   // a camera source and its token
	AuditSourceRevoked       = "source.revoked" // its token stops working
	AuditMaintenanceDeclared = "maintenance.declared"
)
