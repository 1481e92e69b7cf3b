package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"qorgau.kz/qorgau"
)

// ownFacility returns the facility a liaison is confined to, or "" for
// roles that see every facility.
func ownFacility(u *qorgau.User) string {
	if u.Role == qorgau.RoleLiaison {
		return u.Facility
	}
	return ""
}

func (s *Server) home(w http.ResponseWriter, r *request) error {
	data := struct {
		Facilities, Terminals, Cameras int
		OwnFacility                    string
		SeesRegistry, SeesAudit        bool
	}{OwnFacility: ownFacility(r.User)}
	for _, rt := range s.routes {
		switch rt.Pattern {
		case "GET /facilities":
			data.SeesRegistry = rt.allows(r.User.Role)
		case "GET /audit":
			data.SeesAudit = rt.allows(r.User.Role)
		}
	}
	if data.SeesRegistry {
		sums, err := s.db.FacilitySummaries(r.Context(), "", data.OwnFacility)
		if err != nil {
			return err
		}
		data.Facilities = len(sums)
		for _, f := range sums {
			data.Terminals += f.Terminals
			data.Cameras += f.Cameras
		}
	}
	return s.render(w, r, http.StatusOK, "home", "home.title", data)
}

func (s *Server) facilitiesList(w http.ResponseWriter, r *request) error {
	if own := ownFacility(r.User); own != "" {
		// A liaison has one facility: the list would be a list of one.
		http.Redirect(w, r.Request, "/facilities/"+url.PathEscape(own), http.StatusSeeOther)
		return nil
	}
	region := r.URL.Query().Get("region")
	sums, err := s.db.FacilitySummaries(r.Context(), region, ownFacility(r.User))
	if err != nil {
		return err
	}
	regions, err := s.db.Regions(r.Context())
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, rg := range regions {
		names[rg.Code] = rg.Name(r.L.Code)
	}
	if _, ok := names[region]; region != "" && !ok {
		return qorgau.Errorf(qorgau.EINVALID, "unknown region %q", region)
	}
	var total qorgau.FacilitySummary
	for _, f := range sums {
		total.Terminals += f.Terminals
		total.Cameras += f.Cameras
		total.Population += f.Population
		total.Capacity += f.Capacity
	}
	return s.render(w, r, http.StatusOK, "facilities", "facilities.title", struct {
		Facilities  []qorgau.FacilitySummary
		Regions     []qorgau.Region
		RegionNames map[string]string
		Region      string
		Total       qorgau.FacilitySummary
		Restricted  bool
	}{sums, regions, names, region, total, ownFacility(r.User) != ""})
}

// pageParam reads the page number of a list of perPage rows from the query
// string: 1 when absent, bounded so that the offset cannot overflow into
// the first page.
func pageParam(q url.Values, perPage int) (int, error) {
	return intParam(q, "page", 1, 1, math.MaxInt32/perPage)
}

// pageLink is the address of page p of a list at path, with the filters
// named by keys carried over from q.
func pageLink(path string, q url.Values, keys []string, p int) string {
	v := url.Values{}
	for _, k := range keys {
		if q.Get(k) != "" {
			v.Set(k, q.Get(k))
		}
	}
	v.Set("page", strconv.Itoa(p))
	return path + "?" + v.Encode()
}

// zoneRow is a zone with its device counts, for the facility page.
type zoneRow struct {
	qorgau.Zone
	Terminals, Cameras int
}

func (s *Server) facilityPage(w http.ResponseWriter, r *request) error {
	code := r.PathValue("code")
	if own := ownFacility(r.User); own != "" && own != code {
		return qorgau.Errorf(qorgau.EFORBIDDEN, "forbidden")
	}
	ctx := r.Context()
	f, err := s.db.Facility(ctx, code)
	if err != nil {
		return err
	}
	zones, err := s.db.Zones(ctx, code)
	if err != nil {
		return err
	}
	devices, _, err := s.db.Devices(ctx, qorgau.DeviceFilter{Facility: code})
	if err != nil {
		return err
	}
	rows := make([]zoneRow, len(zones))
	index := map[string]int{}
	for i, z := range zones {
		rows[i].Zone = z
		index[z.Code] = i
	}
	var terminals []qorgau.Device
	unzoned := zoneRow{}
	for _, d := range devices {
		row := &unzoned
		if i, ok := index[d.Zone]; ok {
			row = &rows[i]
		}
		if d.Kind == qorgau.DeviceTerminal {
			row.Terminals++
			terminals = append(terminals, d)
		} else {
			row.Cameras++
		}
	}
	var region string
	if regions, err := s.db.Regions(ctx); err == nil {
		for _, rg := range regions {
			if rg.Code == f.Region {
				region = rg.Name(r.L.Code)
			}
		}
	}
	return s.render(w, r, http.StatusOK, "facility", "facility.title", struct {
		Facility   *qorgau.Facility
		RegionName string
		Zones      []zoneRow
		Unzoned    zoneRow
		Terminals  []qorgau.Device
		Devices    int
	}{f, region, rows, unzoned, terminals, len(devices)})
}

const devicesPerPage = 100

func (s *Server) devicesList(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	f := qorgau.DeviceFilter{
		Facility: q.Get("facility"),
		Region:   q.Get("region"),
		Zone:     q.Get("zone"),
		Kind:     qorgau.DeviceKind(q.Get("kind")),
		Query:    strings.TrimSpace(q.Get("q")),
		Limit:    devicesPerPage,
	}
	if f.Kind != "" && f.Kind != qorgau.DeviceTerminal && f.Kind != qorgau.DeviceCamera {
		return qorgau.Errorf(qorgau.EINVALID, "unknown device kind %q", f.Kind)
	}
	page, err := pageParam(q, devicesPerPage)
	if err != nil {
		return err
	}
	f.Offset = (page - 1) * devicesPerPage
	if own := ownFacility(r.User); own != "" {
		if f.Facility != "" && f.Facility != own {
			return qorgau.Errorf(qorgau.EFORBIDDEN, "forbidden")
		}
		f.Facility, f.Region = own, ""
	}
	devices, total, err := s.db.Devices(r.Context(), f)
	if err != nil {
		return err
	}
	facilities, err := s.db.FacilitySummaries(r.Context(), "", ownFacility(r.User))
	if err != nil {
		return err
	}
	regions, err := s.db.Regions(r.Context())
	if err != nil {
		return err
	}
	pages := (total + devicesPerPage - 1) / devicesPerPage
	link := func(p int) string {
		return pageLink("/devices", q, []string{"facility", "region", "zone", "kind", "q"}, p)
	}
	var prev, next string
	if page > 1 {
		prev = link(page - 1)
	}
	if page < pages {
		next = link(page + 1)
	}
	return s.render(w, r, http.StatusOK, "devices", "devices.title", struct {
		Devices    []qorgau.Device
		Filter     qorgau.DeviceFilter
		Facilities []qorgau.FacilitySummary
		Regions    []qorgau.Region
		Total      int
		Page       int
		Pages      int
		Prev, Next string
		Restricted bool
	}{devices, f, facilities, regions, total, page, max(pages, 1), prev, next, ownFacility(r.User) != ""})
}
