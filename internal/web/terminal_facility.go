package web

import (
	"net/http"

	"qorgau.kz/qorgau"
)

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
	out := qorgau.TerminalFacility{Code: f.Code, Name: f.Name, Region: f.Region, Zones: []qorgau.TerminalZone{}}
	for _, z := range zones {
		out.Zones = append(out.Zones, qorgau.TerminalZone{Code: z.Code, Name: z.Name, Kind: z.Kind})
	}
	return writeJSON(w, http.StatusOK, out)
}
