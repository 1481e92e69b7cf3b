package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/registry"
)

func runAdminImport(ctx context.Context, args []string) error {
	fs := newFlagSet("admin import", `Usage: qorgau admin import [-dry-run] KIND FILE.csv

Imports a CSV file with a header row; columns may come in any order, but
must be exactly these:
  regions     code,name_kk,name_ru,name_en
  facilities  code,name,region,type,authority,capacity,population
  zones       facility,code,name,kind
  devices     id,kind,facility,zone,interval_seconds,required_hours
  bodies      code,kind,region,name_kk,name_ru,name_en
Import in that order: facilities name regions, zones name facilities,
devices name facilities and zones. An import is all or nothing: any bad row
stops it, every problem is printed with its line and column, and nothing is
changed. Rows equal to what is stored are left alone; changed rows update.`)
	var d dbFlags
	d.register(fs, "./qorgau-data")
	dry := fs.Bool("dry-run", false, "check the file and count changes, write nothing")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return usageError("admin import: want KIND FILE.csv")
	}
	kind, err := registry.ParseKind(pos[0])
	if err != nil {
		return usageError(plain(err).Error())
	}
	path := pos[1]
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()

	bar := newBar(-1, "checking "+filepath.Base(path))
	res, err := registry.Import(ctx, db, kind, in, registry.Options{
		Actor:  actor(),
		Source: filepath.Base(path),
		DryRun: *dry,
		Progress: func(done, total int) {
			bar.ChangeMax(total)
			bar.Set(done)
		},
	})
	bar.Finish()
	var problems registry.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, p)
		}
		return fmt.Errorf("import of %s refused: %d problem(s); nothing was changed", path, len(problems))
	}
	if err != nil {
		return plain(err)
	}
	verb := "imported"
	if *dry {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Printf("%s %s: %d rows: %d new, %d changed, %d unchanged\n", verb, res.Kind, res.Rows, res.New, res.Changed, res.Unchanged)
	return nil
}

func runAdminExport(ctx context.Context, args []string) error {
	fs := newFlagSet("admin export", "Usage: qorgau admin export KIND > FILE.csv\n\nWrites regions, facilities, zones, devices or bodies as CSV on standard\noutput, in the format import reads.")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError("admin export: want KIND")
	}
	kind, err := registry.ParseKind(pos[0])
	if err != nil {
		return usageError(plain(err).Error())
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	// The export is recorded before any data leaves, so that an export
	// without a record cannot happen.
	if err := db.AppendAudit(ctx, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditExport, Target: string(kind)}); err != nil {
		return fmt.Errorf("could not record the export in the audit log, so nothing was exported: %w", err)
	}
	n, err := registry.Export(ctx, db, kind, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d %s\n", n, kind)
	return nil
}
