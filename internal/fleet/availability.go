package fleet

import (
	"context"
	"slices"
	"strings"
	"time"

	"qorgau.kz/qorgau"
)

// Availability is how much of its required time a device, a facility or a
// region was available over a period. Maintenance is the required time
// lost to declared maintenance, counted apart from Down; both are lost to
// the people the devices serve, so Share counts neither as available.
type Availability struct {
	Key         string // device id, facility code or region code
	Region      string // for facilities and devices
	Facility    string // for devices
	Devices     int
	Outages     int
	Required    time.Duration
	Down        time.Duration
	Maintenance time.Duration
}

// Share returns the available share of required time, 1 when nothing was
// required.
func (a *Availability) Share() float64 {
	if a.Required <= 0 {
		return 1
	}
	return float64(a.Required-a.Down-a.Maintenance) / float64(a.Required)
}

// Percent returns Share as a percentage rounded to two decimals.
func (a *Availability) Percent() float64 { return float64(int(a.Share()*10000+0.5)) / 100 }

func (a *Availability) add(b *Availability) {
	a.Devices += b.Devices
	a.Outages += b.Outages
	a.Required += b.Required
	a.Down += b.Down
	a.Maintenance += b.Maintenance
}

// RequiredOverlap returns how much of [from, to) falls in the required
// hours of sch, read in local time loc. It walks days and ranges, not
// minutes, so that a year over many devices stays cheap.
func RequiredOverlap(sch qorgau.Schedule, from, to time.Time, loc *time.Location) time.Duration {
	if !to.After(from) {
		return 0
	}
	if sch.IsAlways() {
		return to.Sub(from)
	}
	var total time.Duration
	lf := from.In(loc)
	day := time.Date(lf.Year(), lf.Month(), lf.Day()-1, 0, 0, 0, 0, loc) // a range of the day before may run past midnight
	for !day.After(to) {
		for _, r := range sch.Ranges {
			s := day.Add(time.Duration(r.Start) * time.Minute)
			e := day.Add(time.Duration(r.End) * time.Minute)
			if r.End <= r.Start {
				e = e.Add(24 * time.Hour)
			}
			total += overlap(s, e, from, to)
		}
		day = day.AddDate(0, 0, 1)
	}
	return total
}

func overlap(a0, a1, b0, b1 time.Time) time.Duration {
	s, e := a0, a1
	if b0.After(s) {
		s = b0
	}
	if b1.Before(e) {
		e = b1
	}
	if e.After(s) {
		return e.Sub(s)
	}
	return 0
}

// Report is the availability of the devices of a region (or of all) over
// a period, by device, facility and region.
type Report struct {
	From, To   time.Time
	Devices    []Availability
	Facilities []Availability
	Regions    []Availability
	Total      Availability
}

// Availability computes the report for [from, to) over the devices of
// region, or of every region when region is "". Outages still open count
// as lasting until now.
func (t *Tracker) Availability(ctx context.Context, from, to time.Time, region string) (*Report, error) {
	outages, err := t.db.Outages(ctx, qorgau.OutageFilter{From: from, To: to, Region: region})
	if err != nil {
		return nil, err
	}
	return t.report(outages, from, to, region, t.Now()), nil
}

func (t *Tracker) report(outages []qorgau.Outage, from, to time.Time, region string, now time.Time) *Report {
	r := t.reg.Load()
	rep := &Report{From: from, To: to}
	if to.After(now) {
		to = now // the future is neither available nor not
	}
	if from.After(to) {
		from = to
	}
	// A device's required time runs from the later of from and when the
	// watch began for it; most devices share both, so the sums are cached.
	type span struct {
		schedule uint16
		start    int64
	}
	cache := map[span]time.Duration{}
	required := func(i int32) time.Duration {
		start := from
		if r.since != nil && r.since[i] > start.UnixNano() {
			start = time.Unix(0, r.since[i])
		}
		k := span{r.schedule[i], start.UnixNano()}
		d, ok := cache[k]
		if !ok {
			d = RequiredOverlap(r.schedules[k.schedule], start, to, t.cfg.Location)
			cache[k] = d
		}
		return d
	}
	facs := make([]Availability, len(r.facilities))
	for k, f := range r.facilities {
		facs[k] = Availability{Key: f.Code, Region: f.Region}
	}
	// Only devices with outages get their own line: a full line per camera
	// of the country would be 45,000 lines of 100 %.
	devLine := map[int32]*Availability{}
	for k := range outages {
		o := &outages[k]
		i, ok := r.index[o.Device]
		if !ok {
			continue
		}
		end := o.End
		if end.IsZero() || end.After(now) {
			end = now
		}
		s, e := o.Start, end
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		lost := RequiredOverlap(r.schedules[r.schedule[i]], s, e, t.cfg.Location)
		d := devLine[i]
		if d == nil {
			f := r.facilities[r.facility[i]]
			d = &Availability{Key: o.Device, Facility: f.Code, Region: f.Region, Devices: 1, Required: required(i)}
			devLine[i] = d
		}
		d.Outages++
		if o.Cause == qorgau.CauseMaintenance {
			d.Maintenance += lost
		} else {
			d.Down += lost
		}
	}
	for i := range r.ids {
		if r.limit[i] == 0 {
			continue // no longer in the registry
		}
		f := &facs[r.facility[i]]
		f.Devices++
		f.Required += required(int32(i))
		if d := devLine[int32(i)]; d != nil {
			f.Outages += d.Outages
			f.Down += d.Down
			f.Maintenance += d.Maintenance
		}
	}
	regions := map[string]*Availability{}
	for k := range facs {
		f := &facs[k]
		if f.Devices == 0 || region != "" && f.Region != region {
			continue
		}
		rep.Facilities = append(rep.Facilities, *f)
		rg := regions[f.Region]
		if rg == nil {
			rg = &Availability{Key: f.Region}
			regions[f.Region] = rg
		}
		rg.add(f)
		rep.Total.add(f)
	}
	for _, rg := range regions {
		rep.Regions = append(rep.Regions, *rg)
	}
	for _, d := range devLine {
		if region == "" || d.Region == region {
			rep.Devices = append(rep.Devices, *d)
		}
	}
	byKey := func(a, b Availability) int {
		if a.Region != b.Region {
			return strings.Compare(a.Region, b.Region)
		}
		return strings.Compare(a.Key, b.Key)
	}
	slices.SortFunc(rep.Facilities, byKey)
	slices.SortFunc(rep.Regions, byKey)
	slices.SortFunc(rep.Devices, func(a, b Availability) int {
		if a.Facility != b.Facility {
			return strings.Compare(a.Facility, b.Facility)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return rep
}
