package ui

import "html/template"

// icons are the kiosk's pictograms: the inside of an SVG on a 64×64 grid,
// drawn with currentColor so that a tile's colour carries over. They are
// decorative to a screen reader (the tile's text says the same).
var icons = map[string]string{
	// Navigation.
	"home":    `<path d="M8 30 32 10l24 20"/><path d="M14 26v28h36V26"/><path d="M27 54V40h10v14"/>`,
	"speaker": `<path d="M8 24h10l14-12v40L18 40H8z" class="f"/><path d="M40 22c5 5 5 15 0 20M46 16c9 9 9 23 0 32"/>`,
	"back":    `<path d="M52 32H14M28 16 12 32l16 16"/>`,
	"next":    `<path d="M12 32h38M36 16l16 16-16 16"/>`,
	"ok":      `<path d="M12 34l14 14 26-30"/>`,
	"send":    `<path d="M6 30 58 8 46 56 30 40z"/><path d="M30 40 58 8M30 40v14l8-8"/>`,
	"edit":    `<path d="M12 52l4-14 28-28 10 10-28 28z"/><path d="M38 16l10 10"/>`,
	"printer": `<path d="M18 24V8h28v16M18 46H8V24h48v22H46"/><path d="M18 38h28v18H18z"/>`,
	"warn":    `<path d="M32 6 60 56H4z"/><path d="M32 24v14"/><circle cx="32" cy="47" r="3" class="f"/>`,
	"lock":    `<rect x="12" y="28" width="40" height="28" rx="4"/><path d="M20 28v-8a12 12 0 0 1 24 0v8"/><circle cx="32" cy="42" r="4" class="f"/>`,
	// Menu.
	"write":   `<path d="M14 6h26l10 10v42H14z"/><path d="M40 6v10h10M22 26h20M22 34h20M22 42h12"/>`,
	"mail":    `<rect x="6" y="14" width="52" height="36" rx="4"/><path d="M6 18l26 18 26-18"/>`,
	"reply":   `<rect x="6" y="10" width="44" height="32" rx="4"/><path d="M6 14l22 16 22-16"/><circle cx="46" cy="46" r="13" class="w"/><path d="M39 46l5 5 9-10"/>`,
	"learn":   `<circle cx="32" cy="32" r="26"/><path d="M24 24a8 8 0 1 1 12 7c-3 2-4 3-4 7"/><circle cx="32" cy="46" r="3" class="f"/>`,
	"unknown": `<path d="M22 22a10 10 0 1 1 15 9c-4 2-5 4-5 8"/><circle cx="32" cy="50" r="3.5" class="f"/>`,
	// Bodies.
	"prosecutor":      `<path d="M32 6 54 14v16c0 14-10 24-22 28C20 54 10 44 10 30V14z"/><path d="M32 20l4 8 8 1-6 6 2 8-8-4-8 4 2-8-6-6 8-1z" class="f"/>`,
	"court":           `<path d="M32 8v46M18 54h28M12 16h40"/><path d="M12 16 4 36h16zM52 16l-8 20h16z"/><path d="M4 36a8 6 0 0 0 16 0M44 36a8 6 0 0 0 16 0"/>`,
	"ombudsman":       `<path d="M32 58S6 42 6 22a13 13 0 0 1 26-6 13 13 0 0 1 26 6c0 20-26 36-26 36z"/><circle cx="32" cy="27" r="6" class="f"/><path d="M21 46a11 11 0 0 1 22 0"/>`,
	"npm":             `<path d="M4 32s10-16 28-16 28 16 28 16-10 16-28 16S4 32 4 32z"/><circle cx="32" cy="32" r="8" class="f"/>`,
	"anti-corruption": `<circle cx="32" cy="32" r="26"/><path d="M14 14l36 36"/><path d="M38 22c-2-3-10-3-12 1s2 6 6 7 8 4 6 8-10 4-12 0M32 16v4M32 44v4"/>`,
	// Categories.
	"torture":           `<circle cx="20" cy="14" r="7" class="f"/><path d="M20 22v20M8 30l12-6 12 6M20 42l-8 16M20 42l8 16"/><path d="M40 10l8 10-6 2 10 12M36 44h20M46 44v14"/>`,
	"violence-staff":    `<circle cx="18" cy="16" r="7" class="f"/><path d="M10 8h16l-2-4H12z" class="f"/><path d="M18 24v18M18 42l-6 16M18 42l6 16M18 30l18-6"/><circle cx="48" cy="26" r="6" class="f"/><path d="M48 32l-4 26M40 24l-4-4M42 16l-2-6M46 40l10 4"/>`,
	"violence-prisoner": `<circle cx="16" cy="14" r="7" class="f"/><circle cx="48" cy="14" r="7" class="f"/><path d="M16 22v20l-6 16M16 42l6 16M48 22v20l-6 16M48 42l6 16M16 28l14 6M48 28l-14 6"/><path d="M30 22l2-6 2 6"/>`,
	"threats":           `<path d="M8 10h48v32H28L14 54V42H8z"/><path d="M32 16v14"/><circle cx="32" cy="36" r="3" class="f"/>`,
	"medical":           `<rect x="8" y="18" width="48" height="38" rx="4"/><path d="M24 18v-8h16v8M32 26v22M21 37h22"/>`,
	"conditions":        `<circle cx="30" cy="34" r="16"/><circle cx="30" cy="34" r="8"/><path d="M6 14v14a4 4 0 0 0 8 0V14M10 28v28M56 14c-6 4-6 14-6 20h6v22"/>`,
	"contact":           `<rect x="4" y="20" width="34" height="24" rx="3"/><path d="M4 23l17 12 17-12"/><path d="M46 10h12v44H46z"/><path d="M50 48h4"/>`,
	"legal":             `<path d="M14 6h26l10 10v42H14z"/><path d="M22 24h20M22 32h20"/><path d="M24 46l6 6 12-12"/>`,
	"discrimination":    `<circle cx="16" cy="16" r="7" class="f"/><path d="M16 24v18l-6 16M16 42l6 16M8 32h16"/><circle cx="48" cy="24" r="5" class="f"/><path d="M48 30v12l-4 14M48 42l4 14"/><path d="M30 36h8M30 44h8M40 30l-12 20"/>`,
	"other":             `<circle cx="14" cy="32" r="5" class="f"/><circle cx="32" cy="32" r="5" class="f"/><circle cx="50" cy="32" r="5" class="f"/>`,
	// Zones.
	"cell-block":         `<rect x="8" y="8" width="48" height="48" rx="2"/><path d="M20 8v48M32 8v48M44 8v48M8 30h48"/>`,
	"corridor":           `<path d="M4 4l20 18h16L60 4M4 60l20-22h16l20 22M24 22v16M40 22v16"/><path d="M10 18v30M54 18v30"/>`,
	"stairs":             `<path d="M6 56h12V44h12V32h12V20h12V8"/><path d="M6 56V48M58 8v48H6"/>`,
	"exercise-yard":      `<circle cx="46" cy="16" r="8"/><path d="M4 56h56M8 56V30M20 56V30M32 56V30M4 34h32"/><circle cx="48" cy="38" r="4" class="f"/><path d="M48 42v8l-4 6M48 50l4 6M42 46h12"/>`,
	"medical-unit":       `<rect x="6" y="6" width="52" height="52" rx="8"/><path d="M32 16v32M16 32h32"/>`,
	"visiting-room":      `<circle cx="14" cy="18" r="6" class="f"/><circle cx="50" cy="18" r="6" class="f"/><path d="M14 26v16M50 26v16M6 40h52M14 40v18M50 40v18M32 14v40"/>`,
	"interrogation-room": `<path d="M32 4v10M22 24a10 10 0 0 1 20 0z"/><path d="M22 30l-8 14M42 30l8 14"/><path d="M6 46h52M14 46v14M50 46v14"/>`,
	"duty-room":          `<path d="M14 26a18 10 0 0 1 36 0z"/><path d="M10 26h44v6H10z"/><path d="M6 44h52v16M6 44v16M24 52h16"/>`,
	"workshop":           `<path d="M10 54l26-26M34 16a12 12 0 0 0 14 16l8-8-6-2-2-6-8 8"/><path d="M6 50l8 8 6-6-8-8z" class="f"/>`,
	"zone-other":         `<path d="M32 58S12 38 12 24a20 20 0 0 1 40 0c0 14-20 34-20 34z"/><circle cx="32" cy="24" r="7" class="f"/>`,
	"nowhere":            `<path d="M32 58S12 38 12 24a20 20 0 0 1 40 0c0 14-20 34-20 34z"/><path d="M26 18a7 7 0 1 1 9 6c-2 1-3 2-3 5"/><circle cx="32" cy="36" r="2.5" class="f"/>`,
	// When.
	"today":     `<rect x="6" y="12" width="52" height="44" rx="4"/><path d="M6 24h52M18 6v10M46 6v10"/><circle cx="32" cy="40" r="8" class="f"/>`,
	"yesterday": `<rect x="6" y="12" width="52" height="44" rx="4"/><path d="M6 24h52M18 6v10M46 6v10"/><path d="M42 40H22M30 32l-8 8 8 8"/>`,
	"week":      `<rect x="6" y="12" width="52" height="44" rx="4"/><path d="M6 24h52M18 6v10M46 6v10"/><path d="M14 34h6M26 34h6M38 34h6M50 34h2M14 46h6M26 46h6M38 46h6" class="t"/>`,
	"earlier":   `<circle cx="34" cy="34" r="24"/><path d="M34 20v14l10 6"/><path d="M4 20l6 10 10-6"/>`,
	// Parts of the day.
	"morning": `<path d="M4 46h56M14 46a18 18 0 0 1 36 0"/><path d="M32 10v10M10 24l7 6M54 24l-7 6M20 56h24"/>`,
	"day":     `<circle cx="32" cy="32" r="12" class="f"/><path d="M32 4v10M32 50v10M4 32h10M50 32h10M12 12l7 7M45 45l7 7M52 12l-7 7M19 45l-7 7"/>`,
	"evening": `<path d="M4 40h56M18 40a14 14 0 0 1 28 0z" class="f"/><path d="M32 6v18M24 16l8 8 8-8M12 50h40M22 58h20"/>`,
	"night":   `<path d="M40 6a24 24 0 1 0 18 36A20 20 0 0 1 40 6z" class="f"/><path d="M14 12l2 4 4 1-4 2-1 4-2-4-4-1 4-2z"/>`,
	// Text, voice, identity.
	"keyboard": `<rect x="4" y="16" width="56" height="32" rx="4"/><path d="M12 26h4M22 26h4M32 26h4M42 26h4M52 26h0M12 34h4M22 34h4M32 34h4M42 34h4M18 42h28" class="t"/>`,
	"mic":      `<rect x="22" y="6" width="20" height="32" rx="10" class="f"/><path d="M14 30a18 18 0 0 0 36 0M32 48v10M22 58h20"/>`,
	"stop":     `<rect x="14" y="14" width="36" height="36" rx="4" class="f"/>`,
	"play":     `<path d="M18 10l36 22-36 22z" class="f"/>`,
	"trash":    `<path d="M10 16h44M24 16V8h16v8M14 16l4 42h28l4-42M28 26v24M36 26v24"/>`,
	"erase":    `<path d="M22 14h36v36H22L6 32z"/><path d="M30 24l16 16M46 24 30 40"/>`,
	"shift":    `<path d="M32 8 8 34h12v20h24V34h12z"/>`,
	"anon":     `<circle cx="32" cy="22" r="12" class="f"/><path d="M10 58a22 22 0 0 1 44 0z" class="f"/><path d="M14 20h36" class="w"/>`,
	"named":    `<rect x="4" y="12" width="56" height="40" rx="4"/><circle cx="20" cy="28" r="6" class="f"/><path d="M10 44a10 10 0 0 1 20 0M36 26h16M36 34h16M36 42h10"/>`,
	"test":     `<path d="M24 6h16M28 6v18L10 54a4 4 0 0 0 4 6h36a4 4 0 0 0 4-6L36 24V6"/><path d="M18 42h28"/>`,
	"danger":   `<circle cx="32" cy="32" r="26"/><path d="M32 16v22"/><circle cx="32" cy="46" r="3.5" class="f"/>`,
}

// icon returns the pictogram name as an inline SVG, hidden from screen
// readers. An unknown name is a programming error and draws a question mark
// so that a screenshot shows it.
func icon(name string) template.HTML {
	p, ok := icons[name]
	if !ok {
		p = icons["unknown"]
	}
	return template.HTML(`<svg class="ic" viewBox="0 0 64 64" aria-hidden="true" focusable="false">` + p + `</svg>`)
}
