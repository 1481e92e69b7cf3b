package demo

import (
	"fmt"
	"math"
	"math/rand/v2"

	"qorgau.kz/qorgau"
)

// terminalRange is how many terminals a facility of each kind has, from
// its smallest to its largest.
func terminalRange(t qorgau.FacilityType) (lo, hi int) {
	switch {
	case isColony(t):
		return 6, 10
	case t == qorgau.PretrialCentre:
		return 4, 9
	}
	return 1, 2
}

// dayShift is when most terminals must be on: from wake-up to lights-out.
var dayShift = qorgau.MinuteRange{Start: 8 * 60, End: 20 * 60}

// roundTheClock is the share of terminals that must be on 24/7.
const roundTheClock = 0.2

// terminalCounts returns how many terminals each facility has, more in
// larger ones, adding up to Terminals.
func terminalCounts(r *rand.Rand, list []qorgau.Facility) []int {
	counts := make([]int, len(list))
	var adjustable []int
	sum := 0
	for i, f := range list {
		lo, hi := terminalRange(f.Type)
		c := capacities[f.Type]
		frac := float64(f.Capacity-c[0]) / float64(c[1]-c[0])
		counts[i] = clamp(lo+int(math.Round(float64(hi-lo)*frac))+r.IntN(3)-1, lo, hi)
		sum += counts[i]
		if hi-lo > 1 {
			adjustable = append(adjustable, i)
		}
	}
	// The ranges leave room for Terminals either way, so this ends.
	for sum != Terminals {
		i := adjustable[r.IntN(len(adjustable))]
		lo, hi := terminalRange(list[i].Type)
		switch {
		case sum < Terminals && counts[i] < hi:
			counts[i]++
			sum++
		case sum > Terminals && counts[i] > lo:
			counts[i]--
			sum--
		}
	}
	return counts
}

// facilityTerminals places n terminals in f's cell blocks and corridors,
// where people can reach them.
func facilityTerminals(r *rand.Rand, f qorgau.Facility, s *site, n int) []qorgau.Device {
	var places []string
	for _, z := range s.zones {
		if z.Kind == qorgau.ZoneCellBlock || z.Kind == qorgau.ZoneCorridor {
			places = append(places, z.Code)
		}
	}
	r.Shuffle(len(places), func(i, j int) { places[i], places[j] = places[j], places[i] })
	list := make([]qorgau.Device, n)
	for i := range list {
		d := qorgau.Device{
			ID:       fmt.Sprintf("T-%s-%02d", f.Code, i+1),
			Kind:     qorgau.DeviceTerminal,
			Facility: f.Code,
			Interval: terminalInterval,
		}
		if len(places) > 0 {
			d.Zone = places[i%len(places)]
		}
		if r.Float64() >= roundTheClock {
			d.Required = qorgau.Schedule{Ranges: []qorgau.MinuteRange{dayShift}}
		}
		list[i] = d
	}
	return list
}

// facilityWeights returns each facility's share of the country's cameras:
// its capacity, plus a floor for the entrance, duty room and perimeter
// every site has.
func facilityWeights(list []qorgau.Facility) []float64 {
	w := make([]float64, len(list))
	for i, f := range list {
		w[i] = float64(f.Capacity + 60)
	}
	return w
}

// facilityCameras returns budget cameras spread over f's zones by weight,
// plus the fixed ones, numbered through the facility, required 24/7.
func facilityCameras(f qorgau.Facility, s *site, budget int) []qorgau.Device {
	counts := apportion(budget, s.weight)
	var list []qorgau.Device
	for i, z := range s.zones {
		for range counts[i] + s.fixed[i] {
			list = append(list, qorgau.Device{
				ID:       fmt.Sprintf("C-%s-%05d", f.Code, len(list)+1),
				Kind:     qorgau.DeviceCamera,
				Facility: f.Code,
				Zone:     z.Code,
				Interval: cameraInterval,
				Required: qorgau.AlwaysRequired,
			})
		}
	}
	return list
}
