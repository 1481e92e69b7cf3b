package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/store"
)

// fleetRow is one facility on the live fleet page.
type fleetRow struct {
	fleet.Counts
	Name, RegionName string
}

// fleetRows returns the live counts of the facilities the user may see.
func (s *Server) fleetRows(r *request, tr *fleet.Tracker) ([]fleetRow, error) {
	names, regions, err := s.registryNames(r)
	if err != nil {
		return nil, err
	}
	own := ownFacility(r.User)
	var rows []fleetRow
	for _, c := range tr.Snapshot() {
		if own != "" && c.Facility != own || c.TerminalsUp+c.TerminalsDown+c.CamerasUp+c.CamerasDown == 0 {
			continue
		}
		rows = append(rows, fleetRow{Counts: c, Name: names[c.Facility], RegionName: regions[c.Region]})
	}
	slices.SortFunc(rows, func(a, b fleetRow) int {
		if a.Region != b.Region {
			return strings.Compare(a.Region, b.Region)
		}
		return strings.Compare(a.Facility, b.Facility)
	})
	return rows, nil
}

// registryNames returns facility and region names in the reader's language.
func (s *Server) registryNames(r *request) (facilities, regions map[string]string, err error) {
	ctx := r.Context()
	facs, err := s.db.Facilities(ctx)
	if err != nil {
		return nil, nil, err
	}
	rgs, err := s.db.Regions(ctx)
	if err != nil {
		return nil, nil, err
	}
	facilities, regions = map[string]string{}, map[string]string{}
	for _, f := range facs {
		facilities[f.Code] = f.Name
	}
	for _, rg := range rgs {
		regions[rg.Code] = rg.Name(r.L.Code)
	}
	return facilities, regions, nil
}

func (s *Server) fleetPage(w http.ResponseWriter, r *request) error {
	tr, err := s.tracker()
	if err != nil {
		return err
	}
	rows, err := s.fleetRows(r, tr)
	if err != nil {
		return err
	}
	var total fleet.Counts
	for _, c := range rows {
		total.TerminalsUp += c.TerminalsUp
		total.TerminalsDown += c.TerminalsDown
		total.CamerasUp += c.CamerasUp
		total.CamerasDown += c.CamerasDown
	}
	return s.render(w, r, http.StatusOK, "fleet", "fleet.title", struct {
		Rows  []fleetRow
		Total fleet.Counts
	}{rows, total})
}

// fleetEventsEvery is how often the live page's stream checks for changes.
const fleetEventsEvery = time.Second

// fleetEvents streams the live counts as server-sent events: one "counts"
// event at once, then one whenever a device changes state, and a comment
// every 15 s to keep proxies from closing the stream. It ends when the
// client goes away or the server shuts down (CloseStreams).
func (s *Server) fleetEvents(w http.ResponseWriter, r *request) error {
	tr, err := s.tracker()
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(fleetEventsEvery)
	defer tick.Stop()
	version, idle := int64(-1), 0
	for n := 1; ; n++ {
		if n%fleetEventsRecheck == 0 && !s.stillSignedIn(r) {
			// Signed out, disabled, idle or too old since: the page
			// stops (EventSource gives up on the login page it then
			// gets when it reconnects).
			fmt.Fprint(w, "event: ended\ndata: session\n\n")
			rc.Flush()
			return nil
		}
		if v := tr.Version(); v != version {
			version, idle = v, 0
			rows, err := s.fleetRows(r, tr)
			if err != nil {
				return nil // the stream has begun: the client reconnects
			}
			b, _ := json.Marshal(rows)
			if _, err := fmt.Fprintf(w, "event: counts\ndata: %s\n\n", b); err != nil {
				return nil
			}
		} else if idle++; idle%15 == 0 {
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-s.closing: // the server shuts down
			return nil
		case <-tick.C:
		}
	}
}

// fleetEventsRecheck is how many ticks of a stream pass between checks
// that its session still holds (a variable for the tests).
var fleetEventsRecheck = 15

// stillSignedIn reports whether the session a long request began with
// still holds, by the rules newRequest applies to every request: it may
// have been signed out, its user disabled or given another role or
// facility, or it may have gone idle or grown too old while the request
// ran. It does not count as activity.
func (s *Server) stillSignedIn(r *request) bool {
	if r.Session == nil || r.User == nil {
		return false
	}
	sess, user, err := s.db.Session(r.Context(), r.Session.ID)
	if err != nil {
		return false
	}
	return s.sessionHolds(sess, user, s.Now()) &&
		user.Role == r.User.Role && user.Facility == r.User.Facility && user.Body == r.User.Body
}

// period reads the from and to query parameters (YYYY-MM-DD, local days,
// to inclusive); the default is the last 7 days.
func period(r *request, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	q := r.URL.Query()
	today := now.In(loc)
	to = time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, loc)
	from = to.AddDate(0, 0, -7)
	if v := q.Get("to"); v != "" {
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return from, to, qorgau.Errorf(qorgau.EINVALID, "to %q is not a date YYYY-MM-DD", v)
		}
		to = d.AddDate(0, 0, 1)
		from = to.AddDate(0, 0, -7)
	}
	if v := q.Get("from"); v != "" {
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return from, to, qorgau.Errorf(qorgau.EINVALID, "from %q is not a date YYYY-MM-DD", v)
		}
		from = d
	}
	if !from.Before(to) {
		return from, to, qorgau.Errorf(qorgau.EINVALID, "from must not be after to")
	}
	if to.Sub(from) > 367*24*time.Hour {
		return from, to, qorgau.Errorf(qorgau.EINVALID, "a period is at most a year")
	}
	return from, to, nil
}

// causeColours colour the timeline; the legend names them.
var causeColours = map[qorgau.OutageCause]string{
	qorgau.CausePower:       "#b03a2e",
	qorgau.CauseNetwork:     "#d68910",
	qorgau.CauseTamper:      "#6c3483",
	qorgau.CauseMaintenance: "#2e86c1",
	qorgau.CauseUnknown:     "#566573",
}

// timelineBar is one outage on a device's line, in units of 1/1000 of the
// period.
type timelineBar struct {
	X, W   float64
	Colour string
	qorgau.Outage
}

// timelineTick marks a local midnight on the timeline.
type timelineTick struct {
	X     float64
	Label string
}

type timelineRow struct {
	Device string
	Bars   []timelineBar
}

// outageRow is an outage with how long it lasted, or has lasted so far.
type outageRow struct {
	qorgau.Outage
	Lasted string
}

type legendItem struct {
	Cause  qorgau.OutageCause
	Colour string
}

func (s *Server) fleetFacility(w http.ResponseWriter, r *request) error {
	tr, err := s.tracker()
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	if own := ownFacility(r.User); own != "" && own != code {
		return qorgau.Errorf(qorgau.EFORBIDDEN, "forbidden")
	}
	ctx := r.Context()
	f, err := s.db.Facility(ctx, code)
	if err != nil {
		return err
	}
	from, to, err := period(r, tr.Location(), s.Now())
	if err != nil {
		return err
	}
	outages, err := s.db.Outages(ctx, qorgau.OutageFilter{Facility: code, From: from, To: to})
	if err != nil {
		return err
	}
	maint, err := s.db.MaintenanceWindows(ctx, code, from, to)
	if err != nil {
		return err
	}
	alarms, err := s.db.FleetAlarms(ctx, code, 50)
	if err != nil {
		return err
	}
	usage, err := s.db.FacilityUsage(ctx, code, from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly))
	if err != nil {
		return err
	}
	span := float64(to.Sub(from))
	now := s.Now()
	pos := func(t time.Time) float64 {
		return min(max(float64(t.Sub(from))/span*1000, 0), 1000)
	}
	var rows []timelineRow
	line := map[string]int{}
	for _, o := range outages {
		end := o.End
		if end.IsZero() {
			end = now
		}
		k, ok := line[o.Device]
		if !ok {
			k = len(rows)
			line[o.Device] = k
			rows = append(rows, timelineRow{Device: o.Device})
		}
		x := pos(o.Start)
		rows[k].Bars = append(rows[k].Bars, timelineBar{X: x, W: max(pos(end)-x, 1), Colour: causeColours[o.Cause], Outage: o})
	}
	slices.SortFunc(rows, func(a, b timelineRow) int { return strings.Compare(a.Device, b.Device) })
	var maintBars []timelineBar
	for _, m := range maint {
		x := pos(m.From)
		maintBars = append(maintBars, timelineBar{X: x, W: max(pos(m.To)-x, 1), Colour: causeColours[qorgau.CauseMaintenance]})
	}
	// Ticks at local midnights: every day, week or month, by the span.
	step := 1
	switch days := to.Sub(from).Hours() / 24; {
	case days > 120:
		step = 30
	case days > 14:
		step = 7
	}
	var ticks []timelineTick
	for d := from; d.Before(to); d = d.AddDate(0, 0, step) {
		ticks = append(ticks, timelineTick{X: pos(d), Label: d.Format("01-02")})
	}
	var legend []legendItem
	for _, c := range qorgau.OutageCauses {
		legend = append(legend, legendItem{c, causeColours[c]})
	}
	table := make([]outageRow, len(outages))
	for k, o := range outages {
		end := o.End
		if end.IsZero() {
			end = now
		}
		d := end.Sub(o.Start).Round(time.Minute)
		table[len(outages)-1-k] = outageRow{o, fmt.Sprintf("%d:%02d", int(d.Hours()), int(d.Minutes())%60)} // newest first
	}
	return s.render(w, r, http.StatusOK, "fleet_facility", "fleet.facility.title", struct {
		Facility    *qorgau.Facility
		From, To    string
		Rows        []timelineRow
		Maintenance []qorgau.Maintenance
		MaintBars   []timelineBar
		Outages     []outageRow
		Alarms      []qorgau.FleetAlarm
		Terminals   []fleet.TerminalStatus
		Ticks       []timelineTick
		Usage       []store.StepUsage
		Legend      []legendItem
		Loc         *time.Location
	}{f, from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly), rows, maint, maintBars, table, alarms, tr.Terminals(code), ticks, usage, legend, tr.Location()})
}

// availRow is one line of the availability report, formatted.
type availRow struct {
	Level                              string // region, facility or device
	Key, Name, Region, Facility        string
	Devices, Outages                   int
	Required, Down, Maintenance, Share string
	Below                              bool
}

func hours(d time.Duration) string { return strconv.FormatFloat(d.Hours(), 'f', 2, 64) }

func (s *Server) availabilityReport(r *request) (*fleet.Report, []availRow, time.Time, time.Time, error) {
	tr, err := s.tracker()
	if err != nil {
		return nil, nil, time.Time{}, time.Time{}, err
	}
	from, to, err := period(r, tr.Location(), s.Now())
	if err != nil {
		return nil, nil, from, to, err
	}
	region := r.URL.Query().Get("region")
	own := ownFacility(r.User)
	if own != "" {
		region = tr.FacilityRegion(own)
	}
	names, regions, err := s.registryNames(r)
	if err != nil {
		return nil, nil, from, to, err
	}
	if _, ok := regions[region]; region != "" && !ok {
		return nil, nil, from, to, qorgau.Errorf(qorgau.EINVALID, "unknown region %q", region)
	}
	rep, err := tr.Availability(r.Context(), from, to, region)
	if err != nil {
		return nil, nil, from, to, err
	}
	target := tr.Target()
	row := func(level string, a *fleet.Availability, name string) availRow {
		return availRow{Level: level, Key: a.Key, Name: name, Region: a.Region, Facility: a.Facility,
			Devices: a.Devices, Outages: a.Outages, Required: hours(a.Required), Down: hours(a.Down),
			Maintenance: hours(a.Maintenance), Share: strconv.FormatFloat(a.Percent(), 'f', 2, 64), Below: a.Share() < target}
	}
	var rows []availRow
	if own == "" {
		for k := range rep.Regions {
			rows = append(rows, row("region", &rep.Regions[k], regions[rep.Regions[k].Key]))
		}
	}
	for k := range rep.Facilities {
		if a := &rep.Facilities[k]; own == "" || a.Key == own {
			rows = append(rows, row("facility", a, names[a.Key]))
		}
	}
	for k := range rep.Devices {
		if a := &rep.Devices[k]; own == "" || a.Facility == own {
			rows = append(rows, row("device", a, a.Key))
		}
	}
	return rep, rows, from, to, nil
}

func (s *Server) fleetAvailability(w http.ResponseWriter, r *request) error {
	rep, rows, from, to, err := s.availabilityReport(r)
	if err != nil {
		return err
	}
	var regions []qorgau.Region
	if ownFacility(r.User) == "" {
		if regions, err = s.db.Regions(r.Context()); err != nil {
			return err
		}
	}
	var total *availRow
	if ownFacility(r.User) == "" {
		t := availRow{Devices: rep.Total.Devices, Outages: rep.Total.Outages, Required: hours(rep.Total.Required),
			Down: hours(rep.Total.Down), Maintenance: hours(rep.Total.Maintenance), Share: strconv.FormatFloat(rep.Total.Percent(), 'f', 2, 64)}
		total = &t
	}
	return s.render(w, r, http.StatusOK, "fleet_availability", "fleet.avail.title", struct {
		From, To string
		Region   string
		Regions  []qorgau.Region
		Rows     []availRow
		Total    *availRow
		Target   string
		Query    string
	}{from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly), r.URL.Query().Get("region"), regions, rows, total,
		strconv.FormatFloat(s.cfg.Fleet.Target()*100, 'f', 1, 64), r.URL.RawQuery})
}

func (s *Server) fleetAvailabilityCSV(w http.ResponseWriter, r *request) error {
	_, rows, from, to, err := s.availabilityReport(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="availability-%s-%s.csv"`,
		from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)))
	cw := csv.NewWriter(w)
	cw.Write([]string{"level", "code", "region", "facility", "devices", "outages", "required_hours", "down_hours", "maintenance_hours", "availability_percent"})
	for _, a := range rows {
		fac, region := a.Facility, a.Region
		switch a.Level {
		case "facility":
			fac = a.Key
		case "region":
			region = a.Key
		}
		cw.Write([]string{a.Level, a.Key, region, fac, strconv.Itoa(a.Devices), strconv.Itoa(a.Outages), a.Required, a.Down, a.Maintenance, a.Share})
	}
	cw.Flush()
	return cw.Error()
}
