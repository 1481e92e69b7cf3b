package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"qorgau.kz/qorgau/internal/store"
)

// newFlagSet returns a flag set for a subcommand whose -h prints synopsis,
// the flags, and the environment variables that stand in for them.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "%s\n\nFlags (each also read from QORGAU_<FLAG>):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, flags and positional arguments in any order, then
// fills every flag not given on the command line from its QORGAU_*
// environment variable (QORGAU_DATA for -data, QORGAU_IDLE_TIMEOUT for
// -idle-timeout). It returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "QORGAU_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = usageError(fmt.Sprintf("%s=%q: %v", env, v, e))
			}
		}
	})
	return pos, err
}

// newLogger returns a text logger when w is a terminal and a JSON logger
// otherwise, for log collectors.
func newLogger(w *os.File, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if term.IsTerminal(int(w.Fd())) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// dbFlags are the flags that say where the data lives; serve, demo and
// admin share them.
type dbFlags struct {
	data string
	db   string
}

func (d *dbFlags) register(fs *flag.FlagSet, defaultData string) {
	fs.StringVar(&d.data, "data", defaultData, "folder for the SQLite database and keys")
	fs.StringVar(&d.db, "db", "", "database URL: empty for SQLite in -data, or postgres://user@host/db")
}

// url returns the store URL the flags name.
func (d *dbFlags) url() string {
	if d.db != "" {
		return d.db
	}
	return filepath.Join(d.data, "qorgau.db")
}

// open opens and migrates the store, logging what it applied.
func (d *dbFlags) open(ctx context.Context, log *slog.Logger) (*store.DB, error) {
	if d.db == "" {
		if err := os.MkdirAll(d.data, 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	db, err := store.Open(ctx, d.url())
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, m := range applied {
		log.Info("applied migration", "version", m.Version, "name", m.Name, "engine", db.Engine())
	}
	return db, nil
}

// quietLogger discards everything; admin commands print their own lines.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
