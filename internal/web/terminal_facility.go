package web

import (
	"net/http"

	"qorgau.kz/qorgau"
)

type facilityZone struct {
	Code string          `json:"code"`
	Name string          `json:"name"`
	Kind qorgau.ZoneKind `json:"kind"`
}

type facilityResponse struct {
	Code   string         `json:"code"`
	Name   string         `json:"name"`
	Region string         `json:"region"`
	Zones  []facilityZone `json:"zones"`
}

// terminalFacility tells an enrolled terminal its own facility: code,
// name, region and zones, for the "where did it happen" screen. A terminal
// learns nothing of any other facility.
func (s *Server) terminalFacility(w http.ResponseWriter, r *request) error {
	f, err := s.db.Facility(r.Context(), r.Device.Facility)
	if err != nil {
		return err
	}
	zones, err := s.db.Zones(r.Context(), f.Code)
	if err != nil {
		return err
	}
	out := facilityResponse{Code: f.Code, Name: f.Name, Region: f.Region, Zones: []facilityZone{}}
	for _, z := range zones {
		out.Zones = append(out.Zones, facilityZone{Code: z.Code, Name: z.Name, Kind: z.Kind})
	}
	return writeJSON(w, http.StatusOK, out)
}
