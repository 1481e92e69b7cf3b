package demo

import (
	"fmt"
	"math/rand/v2"

	"qorgau.kz/qorgau"
)

// site is a facility's zones with how many cameras each should get: a
// share of the facility's camera budget by weight, plus a fixed number.
type site struct {
	zones  []qorgau.Zone
	weight []float64
	fixed  []int
}

// cameraWeight is the relative number of cameras in a zone of each kind:
// many in corridors, cell blocks and yards, some in medical and visiting
// rooms. Interrogation rooms are left out: they get one camera or none.
var cameraWeight = map[qorgau.ZoneKind]float64{
	qorgau.ZoneCellBlock:    10,
	qorgau.ZoneCorridor:     8,
	qorgau.ZoneStairs:       3,
	qorgau.ZoneExerciseYard: 6,
	qorgau.ZoneMedicalUnit:  4,
	qorgau.ZoneVisitingRoom: 3,
	qorgau.ZoneDutyRoom:     4,
	qorgau.ZoneWorkshop:     6,
	qorgau.ZoneOther:        3,
}

// blindChance is the chance that a zone of each kind has no camera at all:
// the coverage gaps the coverage map must show.
var blindChance = map[qorgau.ZoneKind]float64{
	qorgau.ZoneCellBlock:    0.02,
	qorgau.ZoneCorridor:     0.03,
	qorgau.ZoneStairs:       0.15,
	qorgau.ZoneExerciseYard: 0.05,
	qorgau.ZoneMedicalUnit:  0.05,
	qorgau.ZoneVisitingRoom: 0.10,
	qorgau.ZoneDutyRoom:     0.02,
	qorgau.ZoneWorkshop:     0.05,
	qorgau.ZoneOther:        0.15,
}

// interrogationCovered is the chance that an interrogation room has its one
// camera.
const interrogationCovered = 0.3

// add adds a zone whose cameras follow its kind, with the kind's chance of
// having none.
func (s *site) add(r *rand.Rand, f qorgau.Facility, code, name string, kind qorgau.ZoneKind) {
	w, fixed := 0.0, 0
	switch {
	case kind == qorgau.ZoneInterrogation:
		if r.Float64() < interrogationCovered {
			fixed = 1
		}
	case r.Float64() >= blindChance[kind]:
		w = cameraWeight[kind] * (0.6 + 0.8*r.Float64())
	}
	s.push(f, code, name, kind, w, fixed)
}

// blind adds a zone without cameras: a bath house, an operational
// officer's office.
func (s *site) blind(f qorgau.Facility, code, name string, kind qorgau.ZoneKind) {
	s.push(f, code, name, kind, 0, 0)
}

func (s *site) push(f qorgau.Facility, code, name string, kind qorgau.ZoneKind, w float64, fixed int) {
	s.zones = append(s.zones, qorgau.Zone{Facility: f.Code, Code: code, Name: name, Kind: kind})
	s.weight = append(s.weight, w)
	s.fixed = append(s.fixed, fixed)
}

// numbered adds n zones code-1…code-n named by format with the number.
func (s *site) numbered(r *rand.Rand, f qorgau.Facility, n int, code, format string, kind qorgau.ZoneKind) {
	for i := 1; i <= n; i++ {
		s.add(r, f, fmt.Sprintf("%s%d", code, i), fmt.Sprintf(format, i), kind)
	}
}

// corridors adds n corridors, one per floor, in buildings of three floors
// when there are more than four.
func (s *site) corridors(r *rand.Rand, f qorgau.Facility, n int) {
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("Коридор %d-го этажа", i)
		if n > 4 {
			name = fmt.Sprintf("Корпус %d, коридор %d-го этажа", (i-1)/3+1, (i-1)%3+1)
		}
		s.add(r, f, fmt.Sprintf("CORR-%d", i), name, qorgau.ZoneCorridor)
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// workshopNames are the production shops of a colony, sewing first.
var workshopNames = []string{
	"Швейный цех", "Столярный цех", "Металлообрабатывающий цех", "Цех тротуарной плитки",
	"Пекарня", "Авторемонтная мастерская", "Цех по производству шлакоблоков",
}

// plan returns the zones of f, about 15 to 40 scaled by its capacity, and
// their camera weights.
func plan(r *rand.Rand, f qorgau.Facility) *site {
	s := &site{}
	switch {
	case isColony(f.Type):
		colonyZones(r, s, f)
	case f.Type == qorgau.PretrialCentre:
		pretrialZones(r, s, f)
	case f.Type == qorgau.PoliceDetention:
		policeZones(r, s, f)
	default:
		hospitalZones(r, s, f)
	}
	for _, w := range s.weight {
		if w > 0 {
			return s
		}
	}
	// Every zone came out blind, and the facility's cameras must go
	// somewhere; this is rare enough not to spoil the gaps.
	s.weight[0] = cameraWeight[s.zones[0].Kind]
	return s
}

func colonyZones(r *rand.Rand, s *site, f qorgau.Facility) {
	units := clamp(f.Capacity/110, 2, 12)
	unit := "Отряд %d"
	if f.Type == qorgau.ColonyExtreme {
		unit = "Камерный блок %d"
	}
	s.numbered(r, f, units, "B", unit, qorgau.ZoneCellBlock)
	s.add(r, f, "SHIZO", "ШИЗО и ПКТ", qorgau.ZoneCellBlock)
	s.corridors(r, f, clamp(units/2+1, 2, 6))
	s.numbered(r, f, clamp(units/3+1, 1, 4), "STAIRS-", "Лестничный пролёт %d", qorgau.ZoneStairs)
	s.numbered(r, f, clamp(units/3+1, 1, 4), "YARD-", "Прогулочный двор %d", qorgau.ZoneExerciseYard)
	s.add(r, f, "MED", "Медчасть", qorgau.ZoneMedicalUnit)
	s.add(r, f, "VISIT", "Комната краткосрочных свиданий", qorgau.ZoneVisitingRoom)
	s.add(r, f, "VISIT-L", "Комната длительных свиданий", qorgau.ZoneVisitingRoom)
	s.numbered(r, f, 1+f.Capacity/700, "INT-", "Следственный кабинет %d", qorgau.ZoneInterrogation)
	s.blind(f, "OPS", "Кабинет оперативной части", qorgau.ZoneInterrogation)
	s.add(r, f, "DUTY", "Дежурная часть", qorgau.ZoneDutyRoom)

	var shops []string
	switch f.Type {
	case qorgau.JuvenileFacility:
		shops = []string{"Учебно-производственные мастерские"}
	case qorgau.ColonyExtreme:
		shops = pick(r, 1, workshopNames)
	case qorgau.ColonyMaximum:
		shops = pick(r, clamp(f.Capacity/500+1, 1, 2), workshopNames)
	case qorgau.ColonyMinimum:
		shops = pick(r, clamp(f.Capacity/250+1, 1, 3), workshopNames)
	case qorgau.WomensFacility:
		// Sewing is what women's colonies are known for; it comes first.
		shops = append([]string{workshopNames[0]}, pick(r, clamp(f.Capacity/350, 0, 3), workshopNames[1:])...)
	default:
		shops = pick(r, clamp(f.Capacity/350+1, 1, 4), workshopNames)
	}
	for i, name := range shops {
		s.add(r, f, fmt.Sprintf("WORK-%d", i+1), name, qorgau.ZoneWorkshop)
	}

	s.add(r, f, "CANTEEN", "Столовая", qorgau.ZoneOther)
	s.blind(f, "BATH", "Банно-прачечный комбинат", qorgau.ZoneOther)
	s.add(r, f, "KPP", "Контрольно-пропускной пункт", qorgau.ZoneOther)
	if f.Type == qorgau.JuvenileFacility {
		s.add(r, f, "SCHOOL", "Школа", qorgau.ZoneOther)
	} else {
		s.add(r, f, "CLUB", "Клуб", qorgau.ZoneOther)
	}
}

// pick returns n different names from names.
func pick(r *rand.Rand, n int, names []string) []string {
	perm := r.Perm(len(names))[:min(n, len(names))]
	list := make([]string, len(perm))
	for i, p := range perm {
		list[i] = names[p]
	}
	return list
}

func pretrialZones(r *rand.Rand, s *site, f qorgau.Facility) {
	units := clamp(f.Capacity/150, 2, 8)
	s.numbered(r, f, units, "B", "Корпус %d", qorgau.ZoneCellBlock)
	s.add(r, f, "KARCER", "Карцер", qorgau.ZoneCellBlock)
	s.corridors(r, f, clamp(units+1, 2, 8))
	s.numbered(r, f, clamp(units, 1, 4), "STAIRS-", "Лестничный пролёт %d", qorgau.ZoneStairs)
	s.numbered(r, f, clamp(units+1, 2, 6), "YARD-", "Прогулочный двор %d", qorgau.ZoneExerciseYard)
	s.add(r, f, "MED", "Медчасть", qorgau.ZoneMedicalUnit)
	s.add(r, f, "VISIT", "Комната краткосрочных свиданий", qorgau.ZoneVisitingRoom)
	s.add(r, f, "LAWYER", "Комната встреч с защитником", qorgau.ZoneVisitingRoom)
	s.numbered(r, f, clamp(f.Capacity/250+2, 2, 6), "INT-", "Следственный кабинет %d", qorgau.ZoneInterrogation)
	s.add(r, f, "DUTY", "Дежурная часть", qorgau.ZoneDutyRoom)
	s.add(r, f, "RECEPT", "Приёмное отделение", qorgau.ZoneOther)
	s.blind(f, "BATH", "Санпропускник", qorgau.ZoneOther)
	s.add(r, f, "KPP", "Контрольно-пропускной пункт", qorgau.ZoneOther)
}

func policeZones(r *rand.Rand, s *site, f qorgau.Facility) {
	units := clamp(f.Capacity/50, 1, 3)
	s.numbered(r, f, units, "B", "Камерный блок %d", qorgau.ZoneCellBlock)
	s.corridors(r, f, clamp(units, 1, 2))
	s.numbered(r, f, 1, "STAIRS-", "Лестничный пролёт %d", qorgau.ZoneStairs)
	s.numbered(r, f, clamp(units, 1, 2), "YARD-", "Прогулочный двор %d", qorgau.ZoneExerciseYard)
	s.add(r, f, "MED", "Медпункт", qorgau.ZoneMedicalUnit)
	s.add(r, f, "LAWYER", "Комната встреч с защитником", qorgau.ZoneVisitingRoom)
	s.numbered(r, f, between(r, 2, 3), "INT-", "Следственный кабинет %d", qorgau.ZoneInterrogation)
	s.add(r, f, "DUTY", "Дежурная часть", qorgau.ZoneDutyRoom)
	s.add(r, f, "SEARCH", "Комната досмотра", qorgau.ZoneOther)
}

func hospitalZones(r *rand.Rand, s *site, f qorgau.Facility) {
	units := clamp(f.Capacity/60, 3, 6)
	s.numbered(r, f, units, "B", "Отделение %d", qorgau.ZoneCellBlock)
	s.corridors(r, f, clamp(units, 2, 6))
	s.numbered(r, f, 2, "STAIRS-", "Лестничный пролёт %d", qorgau.ZoneStairs)
	s.numbered(r, f, clamp(units/2, 1, 3), "YARD-", "Прогулочный дворик %d", qorgau.ZoneExerciseYard)
	s.add(r, f, "MED", "Процедурный кабинет", qorgau.ZoneMedicalUnit)
	s.add(r, f, "VISIT", "Комната свиданий", qorgau.ZoneVisitingRoom)
	s.add(r, f, "DUTY", "Пост охраны", qorgau.ZoneDutyRoom)
	s.add(r, f, "WORK-1", "Мастерская трудотерапии", qorgau.ZoneWorkshop)
	s.add(r, f, "CANTEEN", "Столовая", qorgau.ZoneOther)
}
