package demo

import (
	"strings"

	"qorgau.kz/qorgau"
)

// Codes of the bodies the demo accounts and tests refer to.
const (
	karagandaProsecutor = "PROS-KZ-35"
	npmBody             = "NPM"
)

// nationalBodies receive complaints from every region.
var nationalBodies = []qorgau.Body{
	{
		Code: "PROS-GENERAL", Kind: qorgau.BodyProsecutor,
		NameKK: "Қазақстан Республикасының Бас прокуратурасы",
		NameRU: "Генеральная прокуратура Республики Казахстан",
		NameEN: "Prosecutor General's Office of the Republic of Kazakhstan",
	},
	{
		Code: "OMBUDSMAN", Kind: qorgau.BodyOmbudsman,
		NameKK: "Адам құқықтары жөніндегі уәкіл",
		NameRU: "Уполномоченный по правам человека в РК",
		NameEN: "Commissioner for Human Rights",
	},
	{
		Code: npmBody, Kind: qorgau.BodyNPM,
		NameKK: "Ұлттық превенциялық тетік",
		NameRU: "Национальный превентивный механизм",
		NameEN: "National Preventive Mechanism",
	},
	{
		Code: "ACA", Kind: qorgau.BodyAntiCorruption,
		NameKK: "Қазақстан Республикасының Сыбайлас жемқорлыққа қарсы іс-қимыл агенттігі",
		NameRU: "Агентство Республики Казахстан по противодействию коррупции",
		NameEN: "Anti-Corruption Agency of the Republic of Kazakhstan",
	},
}

// bodies returns the national bodies, then a prosecutor's office and a
// court for every region, cities included, since their police sites send
// complaints too.
func bodies() []qorgau.Body {
	list := append([]qorgau.Body(nil), nationalBodies...)
	for _, reg := range regions {
		list = append(list, prosecutor(reg), court(reg))
	}
	return list
}

func prosecutor(reg region) qorgau.Body {
	return qorgau.Body{
		Code:   "PROS-" + reg.code,
		Kind:   qorgau.BodyProsecutor,
		Region: reg.code,
		NameKK: reg.kk + "ның прокуратурасы", // "облысы" and "қаласы" both end in a vowel
		NameRU: "Прокуратура " + reg.ruGen,
		NameEN: reg.en + " Prosecutor's Office",
	}
}

func court(reg region) qorgau.Body {
	b := qorgau.Body{Code: "COURT-" + reg.code, Kind: qorgau.BodyCourt, Region: reg.code}
	if reg.city {
		b.NameKK = reg.kk + "ның соты"
		b.NameRU = "Суд " + reg.ruGen
		b.NameEN = reg.en + " Court"
	} else {
		b.NameKK = strings.TrimSuffix(reg.kk, " облысы") + " облыстық соты"
		b.NameRU = strings.TrimSuffix(reg.ru, "ая область") + "ий областной суд"
		b.NameEN = strings.TrimSuffix(reg.en, " Region") + " Regional Court"
	}
	return b
}
