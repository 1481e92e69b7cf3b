package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
)

// runAdminSource manages camera sources: the VMS or pollers that report
// cameras through POST /api/v1/devices/heartbeats with a bearer token.
func runAdminSource(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list" && args[0] != "revoke") {
		return usageError("admin source: say add --name N [--region R | --facility F], list, or revoke --name N")
	}
	verb := args[0]
	fs := newFlagSet("admin source "+verb, "Usage: qorgau admin source add --name NAME [--region CODE | --facility CODE]\n"+
		"       qorgau admin source list\n       qorgau admin source revoke --name NAME\n\n"+
		"add prints the source's token once: it is stored only as its SHA-256, so keep it\n"+
		"in the VMS or poller's configuration. A source may report the cameras of its region\n"+
		"or facility, or of the whole country when neither is given. revoke stops the token.")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	name := fs.String("name", "", "source name: letters, digits, '.', '_' or '-'")
	region := fs.String("region", "", "limit the source to the cameras of this region")
	facility := fs.String("facility", "", "limit the source to the cameras of this facility")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if verb != "list" && *name == "" {
		return usageError("admin source " + verb + ": --name is required")
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	switch verb {
	case "list":
		list, err := db.CameraSources(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCOPE\tCREATED\tSTATE")
		for _, s := range list {
			scope, state := "country", "active"
			switch {
			case s.Region != "":
				scope = "region " + s.Region
			case s.Facility != "":
				scope = "facility " + s.Facility
			}
			if s.Revoked {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, scope, s.Created.Format("2006-01-02 15:04"), state)
		}
		return tw.Flush()
	case "revoke":
		if err := db.RevokeCameraSource(ctx, *name, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditSourceRevoked, Target: *name}); err != nil {
			return plain(err)
		}
		fmt.Printf("camera source %s revoked: its token is refused from now on\n", *name)
		return nil
	}
	src := &qorgau.CameraSource{Name: *name, Region: *region, Facility: *facility}
	token, id := auth.NewToken()
	detail := "scope country"
	if *region != "" {
		detail = "scope region " + *region
	} else if *facility != "" {
		detail = "scope facility " + *facility
	}
	if err := db.CreateCameraSource(ctx, src, id, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditSourceAdded, Target: *name, Detail: detail}); err != nil {
		return plain(err)
	}
	fmt.Printf("camera source %s added (%s). Its token, shown only now:\n%s\n", *name, detail, token)
	return nil
}
