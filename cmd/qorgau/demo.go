package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"qorgau.kz/qorgau/internal/demo"
	"qorgau.kz/qorgau/internal/web"
)

func runDemo(ctx context.Context, args []string) error {
	fs := newFlagSet("demo", "Usage: qorgau demo [-addr 127.0.0.1:8080] [-data ./qorgau-demo]\n\nRuns the server on a synthetic country: 17 regions, about 80 facilities,\n600 complaint terminals and 45,000 cameras, the oversight bodies of each\nregion, and one demo account per role (printed on start). The data is\ncreated on first start and reused afterwards. The second factor is not\nrequired in the demo; everything else works as in production.")
	var f serveFlags
	f.register(fs)
	f.dbFlags.register(fs, "./qorgau-demo")
	seed := fs.Int64("seed", 1, "seed of the synthetic country")
	log, db, err := f.start(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()

	start := time.Now()
	accounts, loaded, err := demo.Load(ctx, db, *seed)
	if err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	if loaded {
		log.Info("loaded the synthetic country", "took", time.Since(start).Round(time.Millisecond).String())
	} else {
		log.Info("reusing demo data", "data", f.url())
	}
	return serve(ctx, log, db, f, web.Config{RequireTOTP: false}, func(addr string) {
		printAccounts(addr, accounts, f.tlsCert != "")
		if f.tlsCert == "" {
			// The cameras report through the batch API, as a VMS would.
			cams, err := newCameraSim(ctx, db, "http://"+addr, log, *seed)
			if err != nil {
				log.Error("demo cameras", "err", err)
				return
			}
			go cams.Run(ctx)
		}
	})
}

func printAccounts(addr string, accounts []demo.Account, tls bool) {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	fmt.Printf("\nQorgau demo is running: open %s://%s/\n\nDemo accounts (demo only; a real deployment issues one-time passwords and requires TOTP):\n\n", scheme, addr)
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  ROLE\tUSER\tPASSWORD\tSCOPE")
	for _, a := range accounts {
		scope := a.Body + a.Facility
		if scope == "" {
			scope = "-"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", a.Role, a.Name, a.Password, scope)
	}
	w.Flush()
	fmt.Println("\nPress Ctrl+C to stop.")
}
