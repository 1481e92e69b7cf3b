package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"qorgau.kz/qorgau"
)

const holidaysUsage = `Usage: qorgau admin holidays import FILE.csv
       qorgau admin holidays list

Statutory clocks count working days: weekends and public holidays are not.
Kazakhstan's fixed holidays (with the carry-over of one falling on a
weekend) are built in; import the rest, such as Kurban Ait and the
government's yearly transfers of days off, from a CSV file:

  date,name,working
  2026-05-27,Құрбан айт / Курбан айт,0
  2026-01-03,перенос рабочего дня,1

working is 1 for a weekend day declared a working day, 0 (or empty) for a
day off. Imported days win over the built-in ones. The server reads the
calendar at start: restart it after an import.`

func runAdminHolidays(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "list") {
		fmt.Fprintln(os.Stderr, holidaysUsage)
		return usageError("admin holidays: say import FILE.csv or list")
	}
	fs := newFlagSet("admin holidays "+args[0], holidaysUsage)
	var d dbFlags
	d.register(fs, "./qorgau-data")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "list" {
		days, err := db.Holidays(ctx)
		if err != nil {
			return err
		}
		for _, h := range days {
			kind := "day off"
			if h.Working {
				kind = "working day"
			}
			fmt.Printf("%s  %-11s  %s\n", h.Date.Format("2006-01-02"), kind, h.Name)
		}
		return nil
	}
	if len(pos) != 1 {
		return usageError("admin holidays import: want FILE.csv")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	days, problems := parseHolidays(f)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", pos[0], p)
		}
		return fmt.Errorf("import of %s refused: %d problem(s); nothing was changed", pos[0], len(problems))
	}
	if err := db.SaveHolidays(ctx, days, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditImport, Target: "holidays",
		Detail: fmt.Sprintf("file=%s rows=%d", filepath.Base(pos[0]), len(days))}); err != nil {
		return err
	}
	fmt.Printf("imported %d days; restart the server to use them\n", len(days))
	return nil
}

// parseHolidays reads the holidays CSV, collecting every problem with its
// line.
func parseHolidays(r io.Reader) ([]qorgau.Holiday, []string) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var days []qorgau.Holiday
	var problems []string
	seen := map[string]int{}
	col := map[string]int{}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v", line, err))
			break
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(strings.TrimPrefix(rec[i], "\ufeff"))
		}
		if line == 1 {
			for i, h := range rec {
				col[h] = i
			}
			if _, ok := col["date"]; !ok {
				return nil, []string{"line 1: missing column date (want date,name[,working])"}
			}
			if _, ok := col["name"]; !ok {
				return nil, []string{"line 1: missing column name (want date,name[,working])"}
			}
			continue
		}
		get := func(c string) string {
			if i, ok := col[c]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		day, err := time.Parse("2006-01-02", get("date"))
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d, column date: %q is not YYYY-MM-DD", line, get("date")))
			continue
		}
		h := qorgau.Holiday{Date: day, Name: get("name")}
		switch get("working") {
		case "", "0":
		case "1":
			h.Working = true
			if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
				problems = append(problems, fmt.Sprintf("line %d, column working: %s is a %s, not a weekend day", line, get("date"), wd))
			}
		default:
			problems = append(problems, fmt.Sprintf("line %d, column working: want 0 or 1, not %q", line, get("working")))
		}
		if err := h.Validate(); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s", line, qorgau.ErrorMessage(err)))
		}
		if prev, ok := seen[get("date")]; ok {
			problems = append(problems, fmt.Sprintf("line %d, column date: %s is already on line %d", line, get("date"), prev))
		}
		seen[get("date")] = line
		days = append(days, h)
	}
	return days, problems
}
