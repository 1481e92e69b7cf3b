package qorgau

import (
	"regexp"
	"slices"
	"strings"
)

// codePattern is what a code of a region, facility, zone, body or device may
// look like: short, ASCII, safe in URLs, CSV files and log leaves.
var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidCode reports whether s can be used as a registry code.
func ValidCode(s string) bool { return codePattern.MatchString(s) }

func checkCode(what, s string) error {
	if s == "" {
		return Errorf(EINVALID, "%s is required", what)
	}
	if !ValidCode(s) {
		return Errorf(EINVALID, "%s %q must be 1-64 letters, digits, '.', '_' or '-'", what, s)
	}
	return nil
}

func checkName(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return Errorf(EINVALID, "%s is required", what)
	}
	if len(s) > 300 {
		return Errorf(EINVALID, "%s is longer than 300 bytes", what)
	}
	return nil
}

// Region is a first-level administrative region (an oblast or a city of
// republican significance). Codes follow ISO 3166-2 where one exists.
type Region struct {
	Code   string
	NameKK string
	NameRU string
	NameEN string
}

// Name returns the region's name in the given language ("kk", "ru" or "en").
func (r *Region) Name(lang string) string { return pickName(lang, r.NameKK, r.NameRU, r.NameEN) }

// Validate returns an EINVALID error if the region is incomplete.
func (r *Region) Validate() error {
	if err := checkCode("region code", r.Code); err != nil {
		return err
	}
	return checkNames(r.NameKK, r.NameRU, r.NameEN)
}

// pickName returns the name in lang, falling back to Russian, then English.
func pickName(lang, kk, ru, en string) string {
	switch {
	case lang == "kk" && kk != "":
		return kk
	case lang == "en" && en != "":
		return en
	case ru != "":
		return ru
	}
	return en
}

func checkNames(kk, ru, en string) error {
	for _, n := range []struct{ what, v string }{{"Kazakh name", kk}, {"Russian name", ru}, {"English name", en}} {
		if err := checkName(n.what, n.v); err != nil {
			return err
		}
	}
	return nil
}

// FacilityType is the legal kind of a place of detention.
type FacilityType string

// Facility types. Penal colonies are distinguished by security level as the
// Penal Enforcement Code does.
const (
	ColonyMinimum    FacilityType = "colony-minimum"
	ColonyMedium     FacilityType = "colony-medium"
	ColonyMaximum    FacilityType = "colony-maximum"
	ColonyExtreme    FacilityType = "colony-extreme"
	ColonyMixed      FacilityType = "colony-mixed"
	PretrialCentre   FacilityType = "pretrial"
	PoliceDetention  FacilityType = "police-ivs"
	JuvenileFacility FacilityType = "juvenile"
	WomensFacility   FacilityType = "women"
	Psychiatric      FacilityType = "psychiatric"
)

// FacilityTypes lists every facility type in display order.
var FacilityTypes = []FacilityType{
	ColonyMinimum, ColonyMedium, ColonyMaximum, ColonyExtreme, ColonyMixed,
	PretrialCentre, PoliceDetention, JuvenileFacility, WomensFacility, Psychiatric,
}

// Facility is a place where people are held: a colony, a pre-trial centre,
// a police temporary-detention site, a psychiatric hospital.
type Facility struct {
	Code       string
	Name       string
	Region     string // region code
	Type       FacilityType
	Authority  string // the supervising authority, e.g. the penal system committee
	Capacity   int
	Population int
}

// Validate returns an EINVALID error naming the first bad field.
func (f *Facility) Validate() error {
	if err := checkCode("facility code", f.Code); err != nil {
		return err
	}
	if err := checkName("facility name", f.Name); err != nil {
		return err
	}
	if err := checkCode("region", f.Region); err != nil {
		return err
	}
	if !slices.Contains(FacilityTypes, f.Type) {
		return Errorf(EINVALID, "facility type %q is not one of %s", f.Type, joinKinds(FacilityTypes))
	}
	if err := checkName("authority", f.Authority); err != nil {
		return err
	}
	if f.Capacity < 0 {
		return Errorf(EINVALID, "capacity must not be negative")
	}
	if f.Population < 0 {
		return Errorf(EINVALID, "population must not be negative")
	}
	return nil
}

// ZoneKind is what a part of a facility is used for. Complaints name zones,
// and camera coverage is counted per zone.
type ZoneKind string

// Zone kinds.
const (
	ZoneCellBlock     ZoneKind = "cell-block"
	ZoneCorridor      ZoneKind = "corridor"
	ZoneStairs        ZoneKind = "stairs"
	ZoneExerciseYard  ZoneKind = "exercise-yard"
	ZoneMedicalUnit   ZoneKind = "medical-unit"
	ZoneVisitingRoom  ZoneKind = "visiting-room"
	ZoneInterrogation ZoneKind = "interrogation-room"
	ZoneDutyRoom      ZoneKind = "duty-room"
	ZoneWorkshop      ZoneKind = "workshop"
	ZoneOther         ZoneKind = "other"
)

// ZoneKinds lists every zone kind in display order.
var ZoneKinds = []ZoneKind{
	ZoneCellBlock, ZoneCorridor, ZoneStairs, ZoneExerciseYard, ZoneMedicalUnit,
	ZoneVisitingRoom, ZoneInterrogation, ZoneDutyRoom, ZoneWorkshop, ZoneOther,
}

// Zone is a part of a facility. Its code is unique within the facility.
type Zone struct {
	Facility string // facility code
	Code     string
	Name     string
	Kind     ZoneKind
}

// Validate returns an EINVALID error naming the first bad field.
func (z *Zone) Validate() error {
	if err := checkCode("facility", z.Facility); err != nil {
		return err
	}
	if err := checkCode("zone code", z.Code); err != nil {
		return err
	}
	if err := checkName("zone name", z.Name); err != nil {
		return err
	}
	if !slices.Contains(ZoneKinds, z.Kind) {
		return Errorf(EINVALID, "zone kind %q is not one of %s", z.Kind, joinKinds(ZoneKinds))
	}
	return nil
}

// BodyKind is the kind of an oversight body that can receive complaints.
type BodyKind string

// Body kinds.
const (
	BodyProsecutor     BodyKind = "prosecutor"
	BodyCourt          BodyKind = "court"
	BodyOmbudsman      BodyKind = "ombudsman"
	BodyNPM            BodyKind = "npm"
	BodyAntiCorruption BodyKind = "anti-corruption"
)

// BodyKinds lists every body kind in display order.
var BodyKinds = []BodyKind{BodyProsecutor, BodyCourt, BodyOmbudsman, BodyNPM, BodyAntiCorruption}

// Body is a recipient of complaints: a regional prosecutor's office, a court,
// the ombudsman, the national preventive mechanism. A body with no region is
// national. Names are kept in the three languages of the kiosk.
type Body struct {
	Code   string
	Kind   BodyKind
	Region string // region code, "" for a national body
	NameKK string
	NameRU string
	NameEN string
}

// Name returns the body's name in the given language ("kk", "ru" or "en"),
// falling back to Russian, then English.
func (b *Body) Name(lang string) string { return pickName(lang, b.NameKK, b.NameRU, b.NameEN) }

// Validate returns an EINVALID error naming the first bad field.
func (b *Body) Validate() error {
	if err := checkCode("body code", b.Code); err != nil {
		return err
	}
	if !slices.Contains(BodyKinds, b.Kind) {
		return Errorf(EINVALID, "body kind %q is not one of %s", b.Kind, joinKinds(BodyKinds))
	}
	if b.Region != "" {
		if err := checkCode("region", b.Region); err != nil {
			return err
		}
	}
	return checkNames(b.NameKK, b.NameRU, b.NameEN)
}

// DeviceKind tells terminals from cameras. Both are tracked the same way.
type DeviceKind string

// Device kinds.
const (
	DeviceTerminal DeviceKind = "terminal"
	DeviceCamera   DeviceKind = "camera"
)

// DeviceKinds lists every device kind.
var DeviceKinds = []DeviceKind{DeviceTerminal, DeviceCamera}

// Device is a complaint terminal or a camera installed in a facility zone.
// It is expected to report every Interval seconds, and must be available
// during Required hours; silence then is an outage counted against the
// facility.
type Device struct {
	ID       string
	Kind     DeviceKind
	Facility string // facility code
	Zone     string // zone code within the facility, "" if not placed in a zone
	Interval int    // expected heartbeat interval, seconds
	Required Schedule
}

// MaxInterval bounds the heartbeat interval: a device silent for a day is
// not being watched.
const MaxInterval = 86400

// Validate returns an EINVALID error naming the first bad field.
func (d *Device) Validate() error {
	if err := checkCode("device id", d.ID); err != nil {
		return err
	}
	if !slices.Contains(DeviceKinds, d.Kind) {
		return Errorf(EINVALID, "device kind %q is not one of %s", d.Kind, joinKinds(DeviceKinds))
	}
	if err := checkCode("facility", d.Facility); err != nil {
		return err
	}
	if d.Zone != "" {
		if err := checkCode("zone", d.Zone); err != nil {
			return err
		}
	}
	if d.Interval < 1 || d.Interval > MaxInterval {
		return Errorf(EINVALID, "interval must be between 1 and %d seconds", MaxInterval)
	}
	return nil
}

// FacilitySummary is a facility with the counts shown in lists.
type FacilitySummary struct {
	Facility
	Zones     int
	Terminals int
	Cameras   int
}

// DeviceFilter selects devices. Zero fields do not filter.
type DeviceFilter struct {
	Facility string
	Region   string
	Kind     DeviceKind
	Zone     string
	Query    string // substring of the device id
	Offset   int
	Limit    int
}

func joinKinds[T ~string](kinds []T) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
