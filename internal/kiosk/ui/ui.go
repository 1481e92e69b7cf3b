// Package ui is the kiosk's user interface, served on loopback to a browser
// in kiosk mode. The screens are being built; until then New serves a page
// that says so, and qorgau terminal runs its agent without them.
package ui

import (
	"net/http"
	"time"

	"qorgau.kz/qorgau/internal/kiosk"
)

// Options configure the kiosk UI.
type Options struct {
	// Idle is how long without a touch before everything on screen and in
	// memory is wiped; 0 means 60 s.
	Idle time.Duration
}

// New returns the kiosk UI over the agent's backend.
func New(b kiosk.Backend, o Options) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}
