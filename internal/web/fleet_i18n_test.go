package web

import (
	"testing"

	"qorgau.kz/qorgau"
)

// TestFleetEnumKeys checks the keys the fleet pages build from closed sets
// of values, which TestTemplateKeysExist cannot see.
func TestFleetEnumKeys(t *testing.T) {
	locs, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range qorgau.OutageCauses {
		keys = append(keys, "cause."+string(c))
	}
	for _, a := range []qorgau.AlarmKind{qorgau.AlarmJournalBroken, qorgau.AlarmLogRollback, qorgau.AlarmTamper} {
		keys = append(keys, "alarm."+string(a))
	}
	for _, l := range []string{"region", "facility", "device"} {
		keys = append(keys, "fleet.level."+l)
	}
	for _, a := range []string{qorgau.AuditSourceAdded, qorgau.AuditSourceRevoked, qorgau.AuditMaintenanceDeclared} {
		keys = append(keys, "action."+a)
	}
	for _, step := range qorgau.KioskSteps {
		keys = append(keys, "fleet.step."+step)
	}
	keys = append(keys, "fleet.title", "fleet.facility.title", "fleet.avail.title")
	for _, k := range keys {
		for _, l := range languages {
			if _, ok := locs[l].msgs[k]; !ok {
				t.Errorf("key %q is missing from the %s catalogue", k, l)
			}
		}
	}
	for c := range causeColours {
		if !contains(qorgau.OutageCauses, c) {
			t.Errorf("colour for unknown cause %q", c)
		}
	}
	if len(causeColours) != len(qorgau.OutageCauses) {
		t.Errorf("%d cause colours for %d causes", len(causeColours), len(qorgau.OutageCauses))
	}
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
