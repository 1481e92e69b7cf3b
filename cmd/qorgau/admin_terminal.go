package main

import (
	"context"
	"fmt"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
)

func runAdminTerminal(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "enroll" && args[0] != "revoke") {
		return usageError("admin terminal: say enroll --device ID or revoke --device ID")
	}
	verb := args[0]
	fs := newFlagSet("admin terminal "+verb, "Usage: qorgau admin terminal "+verb+" --device ID\n\n"+
		"enroll prints a one-time enrolment token for the terminal; whoever installs the kiosk\n"+
		"starts `qorgau terminal --server URL --enroll TOKEN` with it. revoke retires the\n"+
		"terminal's key: its requests are refused until it enrols again.")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	device := fs.String("device", "", "terminal device id")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token stays valid")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *device == "" {
		return usageError("admin terminal " + verb + ": --device is required")
	}
	if *ttl < time.Minute || *ttl > 7*24*time.Hour {
		return usageError("admin terminal enroll: --ttl must be between 1m and 168h")
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "revoke" {
		if err := db.RevokeDeviceKey(ctx, *device, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditTerminalRevoked, Target: *device}); err != nil {
			return plain(err)
		}
		fmt.Printf("terminal %s revoked: its requests are refused until it enrols again\n", *device)
		return nil
	}
	token, id := auth.NewToken()
	expires := time.Now().Add(*ttl)
	if err := db.CreateEnrollmentToken(ctx, id, *device, expires, &qorgau.AuditRecord{
		Actor: actor(), Action: qorgau.AuditEnrollmentIssued, Target: *device, Detail: "expires " + expires.UTC().Format(time.RFC3339),
	}); err != nil {
		return plain(err)
	}
	fmt.Printf("enrolment token for %s (valid until %s, works once):\n%s\n", *device, expires.Format("2006-01-02 15:04 MST"), token)
	return nil
}
