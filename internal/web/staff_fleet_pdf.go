package web

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-pdf/fpdf"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/fleet"
)

// defaultPDFFont is Debian's DejaVu Sans (package fonts-dejavu-core): the
// PDF report needs a Unicode font for Kazakh and Russian names, and the
// PDF core fonts have none.
const defaultPDFFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// fleetAvailabilityPDF renders the availability report as a PDF: a bar
// chart of each facility's availability against the target, then the
// table of regions and facilities, in the reader's language.
func (s *Server) fleetAvailabilityPDF(w http.ResponseWriter, r *request) error {
	rep, rows, from, to, err := s.availabilityReport(r)
	if err != nil {
		return err
	}
	font := s.cfg.PDFFont
	if font == "" {
		font = defaultPDFFont
	}
	fontData, err := os.ReadFile(font)
	if err != nil {
		return qorgau.Errorf(qorgau.ENOTFOUND, "the PDF report needs the font %s (Debian package fonts-dejavu-core); the CSV report works without it", font)
	}
	L := r.L
	target := s.cfg.Fleet.Target() * 100
	total := rep.Total
	if own := ownFacility(r.User); own != "" {
		// A liaison sees its own facility, not the region's sum.
		total = fleet.Availability{}
		for _, f := range rep.Facilities {
			if f.Key == own {
				total = f
			}
		}
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(L.T("fleet.avail.title"), true)
	pdf.SetCreator("Qorgau "+s.cfg.Version, true)
	pdf.AddUTF8FontFromBytes("dejavu", "", fontData)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("dejavu", "", 16)
	pdf.CellFormat(0, 9, L.T("fleet.avail.title"), "", 1, "L", false, 0, "")
	pdf.SetFont("dejavu", "", 10)
	// Numbers are written as the reader's language writes them, like the
	// page; the CSV keeps the machine form.
	pdf.CellFormat(0, 6, fmt.Sprintf("%s %s — %s %s · %s: %s %%", L.T("fleet.from"), from.Format(time.DateOnly),
		L.T("fleet.to"), to.AddDate(0, 0, -1).Format(time.DateOnly), L.T("fleet.pdf.target"), L.Decimal(strconv.FormatFloat(target, 'f', 1, 64))), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, fmt.Sprintf("%s: %s · %s: %s · %s: %s · %s: %s", L.T("fleet.availability"), L.Decimal(strconv.FormatFloat(total.Percent(), 'f', 2, 64)),
		L.T("fleet.devices"), L.Number(total.Devices), L.T("fleet.downhours"), L.Decimal(hours(total.Down)),
		L.T("fleet.maintenancehours"), L.Decimal(hours(total.Maintenance))), "", 1, "L", false, 0, "")
	pdf.Ln(3)

	// The chart: one bar per facility, 0-100 %, the target as a line.
	const labelW, barW, rowH = 38.0, 120.0, 5.0
	left, _, _, _ := pdf.GetMargins()
	x0 := left + labelW
	drawAxis := func() {
		y := pdf.GetY()
		pdf.SetFont("dejavu", "", 7)
		for p := 0; p <= 100; p += 25 {
			pdf.Text(x0+barW*float64(p)/100-2, y+3, fmt.Sprintf("%d %%", p))
		}
		pdf.SetY(y + 5)
	}
	pdf.SetFont("dejavu", "", 12)
	pdf.CellFormat(0, 8, L.T("fleet.pdf.chart"), "", 1, "L", false, 0, "")
	drawAxis()
	for _, a := range rows {
		if a.Level != "facility" {
			continue
		}
		if pdf.GetY()+rowH > 280 {
			pdf.AddPage()
			drawAxis()
		}
		y := pdf.GetY()
		pdf.SetFont("dejavu", "", 8)
		pdf.SetXY(left, y)
		pdf.CellFormat(labelW, rowH, a.Key, "", 0, "L", false, 0, "")
		share := 0.0
		fmt.Sscanf(a.Share, "%g", &share)
		pdf.SetFillColor(232, 236, 238)
		pdf.Rect(x0, y+0.8, barW, rowH-1.6, "F")
		if a.Below {
			pdf.SetFillColor(176, 58, 46)
		} else {
			pdf.SetFillColor(39, 174, 96)
		}
		pdf.Rect(x0, y+0.8, barW*max(0, min(share, 100))/100, rowH-1.6, "F")
		pdf.SetDrawColor(40, 40, 40)
		pdf.SetLineWidth(0.3)
		pdf.Line(x0+barW*target/100, y, x0+barW*target/100, y+rowH)
		pdf.SetXY(x0+barW+2, y)
		pdf.CellFormat(20, rowH, L.Decimal(a.Share)+" %", "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)

	// The table.
	pdf.SetFont("dejavu", "", 12)
	pdf.CellFormat(0, 8, L.T("fleet.pdf.table"), "", 1, "L", false, 0, "")
	cols := []struct {
		key   string
		w     float64
		align string
	}{
		{"fleet.level", 20, "L"}, {"fleet.code", 28, "L"}, {"fleet.devices", 18, "R"}, {"fleet.outages", 18, "R"},
		{"fleet.requiredhours", 28, "R"}, {"fleet.downhours", 24, "R"}, {"fleet.maintenancehours", 28, "R"}, {"fleet.availability", 22, "R"},
	}
	pdf.SetFont("dejavu", "", 7)
	pdf.SetFillColor(232, 236, 238)
	for _, c := range cols {
		pdf.CellFormat(c.w, 6, L.T(c.key), "B", 0, c.align, true, 0, "")
	}
	pdf.Ln(-1)
	for _, a := range rows {
		if a.Level == "device" {
			continue
		}
		vals := []string{L.Enum("fleet.level", a.Level), a.Key, L.Number(a.Devices), L.Number(a.Outages),
			L.Decimal(a.Required), L.Decimal(a.Down), L.Decimal(a.Maintenance), L.Decimal(a.Share)}
		for k, c := range cols {
			pdf.CellFormat(c.w, 5, vals[k], "", 0, c.align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("availability pdf: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="availability-%s-%s.pdf"`,
		from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)))
	_, err = w.Write(buf.Bytes())
	return err
}
