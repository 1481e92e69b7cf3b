package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"qorgau.kz/qorgau"
)

// region is a region of Kazakhstan with what the demo needs to name its
// institutions and bodies. Names match migration 0003_regions_kz.sql.
type region struct {
	code       string
	kk, ru, en string // nominative, as in the regions table
	ruGen      string // Russian genitive: "Карагандинской области", "города Астаны"
	ruDat      string // Russian dative, after "по": "Карагандинской области", "городу Астане"
	city       bool   // a city of republican significance

	// Institutions of the penal system are named by letters and a number
	// per region, "АК-159", and a number per institution, "АК-159/21".
	letters string // Cyrillic, for names
	latin   string // ASCII, for codes
	number  int

	colonies int  // penal colonies in the region
	pretrial bool // has a pre-trial centre
}

// oblast returns the region of an oblast, deriving the Russian cases from
// the nominative "…ская область".
func oblast(code, kk, ru, en, letters, latin string, number, colonies int, pretrial bool) region {
	gen := strings.TrimSuffix(ru, "ая область") + "ой области"
	return region{code: code, kk: kk, ru: ru, en: en, ruGen: gen, ruDat: gen,
		letters: letters, latin: latin, number: number, colonies: colonies, pretrial: pretrial}
}

// regions are Kazakhstan's 17 oblasts and 3 cities. The letters and numbers
// of the institutions are in the style of the real ones, not copies of them.
// The 62 colonies and 16 pre-trial centres match the national totals.
var regions = []region{
	oblast("KZ-10", "Абай облысы", "Абайская область", "Abai Region", "СМ", "SM", 170, 3, true),
	oblast("KZ-11", "Ақмола облысы", "Акмолинская область", "Akmola Region", "УК", "UK", 161, 6, true),
	oblast("KZ-15", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region", "ГМ", "GM", 172, 3, true),
	oblast("KZ-19", "Алматы облысы", "Алматинская область", "Almaty Region", "ЛА", "LA", 155, 4, true),
	oblast("KZ-23", "Атырау облысы", "Атырауская область", "Atyrau Region", "УГ", "UG", 173, 2, true),
	oblast("KZ-27", "Батыс Қазақстан облысы", "Западно-Казахстанская область", "West Kazakhstan Region", "ОН", "ON", 167, 2, true),
	oblast("KZ-31", "Жамбыл облысы", "Жамбылская область", "Jambyl Region", "ЖД", "ZHD", 158, 4, true),
	oblast("KZ-33", "Жетісу облысы", "Жетысуская область", "Jetisu Region", "ТК", "TK", 176, 2, true),
	oblast("KZ-35", "Қарағанды облысы", "Карагандинская область", "Karaganda Region", "АК", "AK", 159, 9, true),
	oblast("KZ-39", "Қостанай облысы", "Костанайская область", "Kostanay Region", "ЕЦ", "EC", 166, 5, true),
	oblast("KZ-43", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region", "ЗК", "ZK", 169, 2, true),
	oblast("KZ-47", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region", "МН", "MN", 171, 1, true),
	oblast("KZ-55", "Павлодар облысы", "Павлодарская область", "Pavlodar Region", "АП", "AP", 162, 5, true),
	oblast("KZ-59", "Солтүстік Қазақстан облысы", "Северо-Казахстанская область", "North Kazakhstan Region", "ЕС", "ES", 164, 4, true),
	oblast("KZ-61", "Түркістан облысы", "Туркестанская область", "Turkistan Region", "ЮК", "YUK", 157, 3, true),
	oblast("KZ-62", "Ұлытау облысы", "Улытауская область", "Ulytau Region", "УЛ", "UL", 174, 2, false),
	oblast("KZ-63", "Шығыс Қазақстан облысы", "Восточно-Казахстанская область", "East Kazakhstan Region", "ОВ", "OV", 156, 5, true),
	{code: "KZ-71", kk: "Астана қаласы", ru: "город Астана", en: "Astana City", ruGen: "города Астаны", ruDat: "городу Астане", city: true},
	{code: "KZ-75", kk: "Алматы қаласы", ru: "город Алматы", en: "Almaty City", ruGen: "города Алматы", ruDat: "городу Алматы", city: true},
	{code: "KZ-79", kk: "Шымкент қаласы", ru: "город Шымкент", en: "Shymkent City", ruGen: "города Шымкента", ruDat: "городу Шымкенту", city: true},
}

// Supervising authorities.
const (
	penalAuthority  = "КУИС МВД РК"
	policeAuthority = "МВД РК"
	healthAuthority = "Минздрав РК"
	karagandaRegion = "KZ-35"
	juvenileRegion  = "KZ-19"
)

// Colonies that the penal system keeps apart, by region: one juvenile
// colony, women's colonies in three regions, two of the extreme regime.
var (
	womenRegions   = []string{"KZ-19", karagandaRegion, "KZ-39"}
	extremeRegions = []string{karagandaRegion, "KZ-63"}
)

// generalColonies is the mix of security levels of the other 56 colonies.
var generalColonies = map[qorgau.FacilityType]int{
	qorgau.ColonyMinimum: 12,
	qorgau.ColonyMedium:  20,
	qorgau.ColonyMaximum: 12,
	qorgau.ColonyMixed:   12,
}

// capacities are the ranges of design capacity by facility type, chosen so
// that the population comes to about the 37,000 people held nationally.
var capacities = map[qorgau.FacilityType][2]int{
	qorgau.ColonyMinimum:    {200, 500},
	qorgau.ColonyMedium:     {400, 1100},
	qorgau.ColonyMaximum:    {300, 900},
	qorgau.ColonyExtreme:    {200, 400},
	qorgau.ColonyMixed:      {300, 900},
	qorgau.JuvenileFacility: {200, 250},
	qorgau.WomensFacility:   {300, 800},
	qorgau.PretrialCentre:   {300, 1100},
	qorgau.PoliceDetention:  {40, 120}, // a temporary-detention site holds tens, not hundreds
	qorgau.Psychiatric:      {200, 400},
}

// policeSites are the police temporary-detention sites of the demo.
var policeSites = []struct{ region, code, name string }{
	{"KZ-71", "IVS-KZ-71", "ИВС ДП г. Астаны"},
	{"KZ-75", "IVS-KZ-75", "ИВС ДП г. Алматы"},
	{"KZ-79", "IVS-KZ-79", "ИВС ДП г. Шымкента"},
	{karagandaRegion, "IVS-KZ-35", "ИВС УП г. Караганды"},
}

// hospitals are the psychiatric hospitals for compulsory treatment.
var hospitals = []struct{ region, code, name string }{
	{"KZ-19", "PSY-KZ-19", "Специализированная психиатрическая больница с интенсивным наблюдением № 1"},
	{"KZ-55", "PSY-KZ-55", "Областной центр психического здоровья, отделение принудительного лечения"},
}

// facilities returns the demo's places of detention in region order: per
// region its pre-trial centre, its colonies, then police sites and
// hospitals.
func facilities(r *rand.Rand) []qorgau.Facility {
	types := colonyTypes(r)
	var list []qorgau.Facility
	for _, reg := range regions {
		if reg.pretrial {
			list = append(list, sized(r, qorgau.Facility{
				Code:      fmt.Sprintf("%s-%d-1", reg.latin, reg.number),
				Name:      "СИЗО-1 ДУИС по " + reg.ruDat,
				Region:    reg.code,
				Type:      qorgau.PretrialCentre,
				Authority: penalAuthority,
			}))
		}
		for _, n := range institutionNumbers(r, reg.colonies) {
			list = append(list, sized(r, qorgau.Facility{
				Code:      fmt.Sprintf("%s-%d-%d", reg.latin, reg.number, n),
				Name:      fmt.Sprintf("Учреждение %s-%d/%d", reg.letters, reg.number, n),
				Region:    reg.code,
				Type:      types[reg.code][0],
				Authority: penalAuthority,
			}))
			types[reg.code] = types[reg.code][1:]
		}
		for _, p := range policeSites {
			if p.region == reg.code {
				list = append(list, sized(r, qorgau.Facility{Code: p.code, Name: p.name, Region: p.region,
					Type: qorgau.PoliceDetention, Authority: policeAuthority}))
			}
		}
		for _, h := range hospitals {
			if h.region == reg.code {
				list = append(list, sized(r, qorgau.Facility{Code: h.code, Name: h.name, Region: h.region,
					Type: qorgau.Psychiatric, Authority: healthAuthority}))
			}
		}
	}
	return list
}

// colonyTypes returns the security level of each colony of each region, in
// the order the colonies are numbered.
func colonyTypes(r *rand.Rand) map[string][]qorgau.FacilityType {
	var pool []qorgau.FacilityType
	for _, t := range []qorgau.FacilityType{qorgau.ColonyMinimum, qorgau.ColonyMedium, qorgau.ColonyMaximum, qorgau.ColonyMixed} {
		for range generalColonies[t] {
			pool = append(pool, t)
		}
	}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })

	types := map[string][]qorgau.FacilityType{}
	for _, reg := range regions {
		var special []qorgau.FacilityType
		if reg.code == juvenileRegion {
			special = append(special, qorgau.JuvenileFacility)
		}
		for _, code := range womenRegions {
			if code == reg.code {
				special = append(special, qorgau.WomensFacility)
			}
		}
		for _, code := range extremeRegions {
			if code == reg.code {
				special = append(special, qorgau.ColonyExtreme)
			}
		}
		n := reg.colonies - len(special)
		list := append(special, pool[:n]...)
		pool = pool[n:]
		r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		types[reg.code] = list
	}
	return types
}

// institutionNumbers returns n distinct institution numbers in increasing
// order, leaving gaps as real numbering does; 1 is the pre-trial centre's.
func institutionNumbers(r *rand.Rand, n int) []int {
	if n == 0 {
		return nil
	}
	span := 3*n + 6
	perm := r.Perm(span)[:n]
	seen := make([]bool, span)
	for _, p := range perm {
		seen[p] = true
	}
	list := make([]int, 0, n)
	for i, ok := range seen {
		if ok {
			list = append(list, i+2)
		}
	}
	return list
}

// sized sets a pseudo-random capacity in the range of f's type, rounded to
// tens, and a population between 60 % and 105 % of it.
func sized(r *rand.Rand, f qorgau.Facility) qorgau.Facility {
	c := capacities[f.Type]
	f.Capacity = between(r, c[0], c[1])
	if f.Capacity >= 200 {
		f.Capacity = f.Capacity / 10 * 10
	}
	f.Population = int(math.Round(float64(f.Capacity) * (0.60 + 0.45*r.Float64())))
	return f
}

// isColony reports whether t is a penal colony of any regime.
func isColony(t qorgau.FacilityType) bool {
	switch t {
	case qorgau.ColonyMinimum, qorgau.ColonyMedium, qorgau.ColonyMaximum, qorgau.ColonyExtreme,
		qorgau.ColonyMixed, qorgau.JuvenileFacility, qorgau.WomensFacility:
		return true
	}
	return false
}
