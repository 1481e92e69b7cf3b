package web

// SetFleetEventsRecheck makes event streams check their session every n
// ticks, and returns a function that puts the old value back.
func SetFleetEventsRecheck(n int) (restore func()) {
	old := fleetEventsRecheck
	fleetEventsRecheck = n
	return func() { fleetEventsRecheck = old }
}
