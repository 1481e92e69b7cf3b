// Package demo builds a synthetic country for demonstrations and load tests:
// Kazakhstan's regions with about 80 invented places of detention, their
// zones, 608 complaint terminals, 45,000 cameras, the bodies that receive
// complaints, and one staff account per role.
//
// The country is realistic in shape and size, after Kazakhstan's public
// figures (78 penitentiary institutions, 608 terminals, 40,000–45,000
// cameras), but every name, code and figure in it is invented. Generate
// builds it from a seed, the same country for the same seed; Load writes it
// into an empty store.
//
// The demo accounts have fixed passwords published in this package. They
// exist to let someone try the console in a minute, and must never be loaded
// into a deployment that holds real data.
package demo

import (
	"math/rand/v2"
	"slices"

	"qorgau.kz/qorgau"
)

// Country is a synthetic registry: facilities, their zones and devices, and
// the recipient bodies. Regions are not part of it: it uses Kazakhstan's
// ISO 3166-2:KZ codes, which the store holds after migration.
type Country struct {
	Facilities []qorgau.Facility
	Zones      []qorgau.Zone
	Devices    []qorgau.Device
	Bodies     []qorgau.Body
}

// Sizes of the synthetic country, from the public figures for Kazakhstan.
const (
	// Terminals is how many complaint terminals were installed since 2020.
	Terminals = 608
	// Cameras is about how many cameras watch the penitentiary institutions.
	Cameras = 45000
)

// Expected heartbeat intervals, seconds.
const (
	terminalInterval = 60
	cameraInterval   = 30
)

// Generate builds the synthetic country deterministically from seed: the
// same seed gives an equal Country. Every facility, zone, device and body it
// returns passes Validate, and every device names a facility and a zone
// that the Country holds.
func Generate(seed int64) *Country {
	r := rand.New(rand.NewPCG(uint64(seed), 0x716f7267617521)) // "qorgau!"
	c := &Country{Facilities: facilities(r), Bodies: bodies()}

	sites := make([]*site, len(c.Facilities))
	fixed := 0
	for i, f := range c.Facilities {
		sites[i] = plan(r, f)
		for _, n := range sites[i].fixed {
			fixed += n
		}
	}
	terminals := terminalCounts(r, c.Facilities)
	budgets := apportion(Cameras-fixed, facilityWeights(c.Facilities))
	for i, f := range c.Facilities {
		c.Zones = append(c.Zones, sites[i].zones...)
		c.Devices = append(c.Devices, facilityTerminals(r, f, sites[i], terminals[i])...)
		c.Devices = append(c.Devices, facilityCameras(f, sites[i], budgets[i])...)
	}
	return c
}

// between returns a pseudo-random int in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// apportion splits total into integer shares proportional to weights by the
// largest-remainder method, so that the shares add up to total exactly. Ties
// go to the earlier index, which keeps the result deterministic. Weights
// must not all be zero unless total is zero.
func apportion(total int, weights []float64) []int {
	shares := make([]int, len(weights))
	var sum float64
	for _, w := range weights {
		sum += w
	}
	if total <= 0 || sum <= 0 {
		return shares
	}
	rest := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		shares[i] = int(exact)
		rest[i] = exact - float64(shares[i])
		given += shares[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rest[a] > rest[b]:
			return -1
		case rest[a] < rest[b]:
			return 1
		}
		return 0
	})
	for i := 0; given < total; i++ {
		shares[order[i%len(order)]]++
		given++
	}
	return shares
}
