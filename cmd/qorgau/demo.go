package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"qorgau.kz/qorgau/internal/demo"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/kiosk/ui"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/web"
)

func runDemo(ctx context.Context, args []string) error {
	fs := newFlagSet("demo", "Usage: qorgau demo [-addr 127.0.0.1:8080] [-data ./qorgau-demo]\n\nRuns the server on a synthetic country: 17 regions, about 80 facilities,\n600 complaint terminals and 45,000 cameras, the oversight bodies of each\nregion, and one demo account per role (printed on start). The data is\ncreated on first start and reused afterwards. The second factor is not\nrequired in the demo; everything else works as in production.\n\nThe fleet is alive: every terminal runs as a real kiosk agent (state under\n-data/terminals), every camera reports through the batch heartbeat API,\nand now and then a line is cut, a terminal switched off or its case opened,\nand someone files a complaint. One terminal's kiosk screens are served on\n-kiosk for a browser.")
	var f serveFlags
	f.register(fs)
	f.dbFlags.register(fs, "./qorgau-demo")
	// The demo's terminals send their heartbeats to the heartbeat
	// listener, on a free loopback port, so that the demo runs that path.
	if bf := fs.Lookup("beat-addr"); bf != nil {
		bf.DefValue = "127.0.0.1:0"
		bf.Value.Set(bf.DefValue)
	}
	seed := fs.Int64("seed", 1, "seed of the synthetic country")
	fleet := fs.Bool("terminals", true, "run every terminal as a simulated kiosk with live traffic and staged outages")
	kioskAddr := fs.String("kiosk", "127.0.0.1:7070", "serve one simulated terminal's kiosk screens here, on loopback; empty for none")
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
	var live sync.WaitGroup
	defer live.Wait()
	return serve(ctx, log, db, f, web.Config{RequireTOTP: false}, func(addr string) {
		printAccounts(addr, accounts, f.tlsCert != "")
		if f.tlsCert == "" {
			// The cameras report through the batch API, as a VMS would.
			cams, err := newCameraSim(ctx, db, "http://"+addr, log, *seed)
			if err != nil {
				log.Error("demo cameras", "err", err)
				return
			}
			live.Go(func() { cams.Run(ctx) })
		}
		if !*fleet || f.tlsCert != "" {
			return // the simulated terminals speak plain HTTP to the server
		}
		lv, err := demoTerminals(db, f, addr, *seed, log)
		if err != nil {
			log.Error("demo terminals", "err", err)
			return
		}
		lv.Ready = func(first *kiosk.Agent) { live.Go(func() { serveDemoKiosk(ctx, *kioskAddr, first, log) }) }
		live.Go(func() {
			if err := lv.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("demo terminals stopped", "err", err)
			}
		})
	})
}

// serveDemoKiosk serves one simulated terminal's screens on loopback, so
// that the demo can be tried as a person in custody meets it.
func serveDemoKiosk(ctx context.Context, addr string, a *kiosk.Agent, log *slog.Logger) {
	if addr == "" {
		return
	}
	h, err := ui.New(a, ui.Options{Log: log})
	if err != nil {
		log.Error("demo kiosk", "err", err)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("demo kiosk: cannot listen", "addr", addr, "err", err)
		return
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Printf("\nThe kiosk of terminal %s: open http://%s/ (a browser in kiosk mode on the terminal shows the same)\n", a.Status().Device, ln.Addr())
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("demo kiosk", "err", err)
	}
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

// demoTerminals prepares the simulated terminals, each with its folder
// under the data folder.
func demoTerminals(db *store.DB, f serveFlags, addr string, seed int64, log *slog.Logger) (*demo.Live, error) {
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return &demo.Live{Server: scheme + "://" + net.JoinHostPort(host, port), DB: db, Data: filepath.Join(f.data, "terminals"),
		Log: log, Seed: seed}, nil
}
