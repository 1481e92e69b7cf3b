package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"os/user"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/store"
)

const adminUsage = `Usage: qorgau admin <command> [flags]

Commands:
  user add --name NAME --role ROLE [--body CODE | --facility CODE] [--full-name "…"] [--email ADDR]
                                  add a staff account; prints a one-time password
  user edit --name NAME --email ADDR
                                  set the address notices are emailed to ("" for none)
  user list                       list staff accounts
  user reset-password --name NAME issue a new one-time password (ends sessions)
  user reset-totp --name NAME     make the user enrol a new second factor
  user disable --name NAME        disable an account (ends sessions)
  user enable --name NAME         enable a disabled account
  import KIND FILE.csv            import regions, facilities, zones, devices or bodies
                                  (all or nothing; --dry-run only checks)
  export KIND                     write regions, facilities, zones, devices or bodies as CSV
  body init|add-member|remove-member|rotate-key|keys --body CODE …
                                  manage a recipient body's keys (qorgau admin body -h)
  body webhook set CODE URL | remove CODE
                                  POST the body's notices to URL, signed; prints the secret once
  terminal enroll --device ID     print a one-time enrolment token for a kiosk (valid 24 h)
  terminal revoke --device ID     retire a terminal's key
  source add --name N [--region R | --facility F]
                                  add a camera source; prints its token once
  source list | revoke --name N   list camera sources, or stop one's token
  audit verify                    check the hash chain of the audit log
  log key                         print the complaint log's verifier key
  log erase --index N --reason TEXT
                                  crypto-shred a log entry's object and salt (audited)
  holidays import FILE.csv | list the working-day calendar's imported days

Roles: admin, member (needs --body), npm, liaison (needs --facility), auditor.
Every admin command takes -data DIR or -db URL like serve.
`

func runAdmin(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(adminUsage)
		if len(args) == 0 {
			return usageError("admin: no command given")
		}
		return nil
	}
	switch args[0] {
	case "user":
		if len(args) < 2 {
			fmt.Fprint(os.Stderr, adminUsage)
			return usageError("admin user: say add, edit, list, reset-password, reset-totp, disable or enable")
		}
		return runAdminUser(ctx, args[1], args[2:])
	case "import":
		return runAdminImport(ctx, args[1:])
	case "export":
		return runAdminExport(ctx, args[1:])
	case "terminal":
		return runAdminTerminal(ctx, args[1:])
	case "source":
		return runAdminSource(ctx, args[1:])
	case "body":
		return runAdminBody(ctx, args[1:])
	case "log":
		return runAdminLog(ctx, args[1:])
	case "holidays":
		return runAdminHolidays(ctx, args[1:])
	case "audit":
		if len(args) < 2 || args[1] != "verify" {
			fmt.Fprint(os.Stderr, adminUsage)
			return usageError("admin audit: the command is: audit verify")
		}
		return runAuditVerify(ctx, args[2:])
	}
	fmt.Fprint(os.Stderr, adminUsage)
	return usageError(fmt.Sprintf("admin: unknown command %q", args[0]))
}

// actor names the person at the command line in audit records.
func actor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "cli:" + name
}

func runAdminUser(ctx context.Context, verb string, args []string) error {
	fs := newFlagSet("admin user "+verb, "Usage: qorgau admin user "+verb+" [flags]")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	name := fs.String("name", "", "login name (letters, digits, '.', '_', '-')")
	var role, body, facility, fullName, email *string
	if verb == "add" {
		role = fs.String("role", "", "admin, member, npm, liaison or auditor")
		body = fs.String("body", "", "recipient body code, for a member")
		facility = fs.String("facility", "", "facility code, for a liaison")
		fullName = fs.String("full-name", "", "the person's full name")
	}
	if verb == "add" || verb == "edit" {
		email = fs.String("email", "", "address that notices are emailed to (members); empty for none")
	}
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if verb != "list" && *name == "" {
		return usageError("admin user " + verb + ": --name is required")
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()

	switch verb {
	case "add":
		otp := auth.OneTimePassword()
		hash, err := auth.HashPassword(otp, auth.DefaultParams)
		if err != nil {
			return err
		}
		u := &qorgau.User{Name: *name, FullName: *fullName, Role: qorgau.Role(*role), Body: *body, Facility: *facility,
			PasswordHash: hash, MustChangePassword: true}
		if *email != "" {
			// Checked before the account exists, so that a typo adds nothing.
			if err := checkEmail(*email); err != nil {
				return err
			}
		}
		if err := db.CreateUser(ctx, u, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditUserAdded, Target: u.Name,
			Detail: fmt.Sprintf("role=%s body=%s facility=%s", u.Role, u.Body, u.Facility)}); err != nil {
			return plain(err)
		}
		if *email != "" {
			if err := db.SetUserEmail(ctx, u.Name, *email, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditUserEmail, Target: u.Name, Detail: *email}); err != nil {
				return plain(err)
			}
		}
		fmt.Printf("added %s (%s)\none-time password: %s\nThe user must choose a new password and set up a second factor at first sign-in.\n", u.Name, u.Role, otp)
		return nil
	case "list":
		users, err := db.Users(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tSCOPE\tTOTP\tSTATE\tFULL NAME")
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			} else if u.MustChangePassword {
				state = "one-time password"
			}
			totp := "no"
			if u.TOTPSecret != "" {
				totp = "yes"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, dash(u.Body+u.Facility), totp, state, u.FullName)
		}
		return w.Flush()
	}

	if verb == "edit" {
		if *email != "" {
			if err := checkEmail(*email); err != nil {
				return err
			}
		}
		if err := db.SetUserEmail(ctx, *name, *email, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditUserEmail, Target: *name, Detail: *email}); err != nil {
			return plain(err)
		}
		fmt.Printf("%s: notices are emailed to %s\n", *name, dash(*email))
		return nil
	}
	u, err := db.UserByName(ctx, *name)
	if err != nil {
		return plain(err)
	}
	rec := &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditUserChanged, Target: u.Name}
	var otp string
	switch verb {
	case "reset-password":
		otp = auth.OneTimePassword()
		if u.PasswordHash, err = auth.HashPassword(otp, auth.DefaultParams); err != nil {
			return err
		}
		u.MustChangePassword = true
		rec.Detail = "password reset"
	case "reset-totp":
		u.TOTPSecret = ""
		rec.Detail = "second factor reset"
	case "disable":
		u.Disabled = true
		rec.Action = qorgau.AuditUserDisabled
	case "enable":
		u.Disabled = false
		rec.Detail = "enabled"
	default:
		return usageError(fmt.Sprintf("admin user: unknown command %q", verb))
	}
	if err := db.UpdateUser(ctx, u, true, rec); err != nil {
		return plain(err)
	}
	fmt.Printf("%s: %s done; the user's sessions were ended\n", u.Name, verb)
	if otp != "" {
		fmt.Printf("one-time password: %s\n", otp)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// plain turns a domain error into its message for the command line.
func plain(err error) error {
	var e *qorgau.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

func runAuditVerify(ctx context.Context, args []string) error {
	fs := newFlagSet("admin audit verify", "Usage: qorgau admin audit verify [-data DIR | -db URL]\n\nChecks the audit log's hash chain from the first record to the head and\nnames the first record that was changed, removed or reordered.")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newBar(-1, "checking the audit chain")
	n, err := db.VerifyAudit(ctx, func(n int64) { bar.Set64(n) })
	bar.Finish()
	var brk *store.AuditBreak
	if errors.As(err, &brk) {
		return fmt.Errorf("audit log NOT intact: %d records check out, then record %d: %s", n, brk.Seq, brk.Reason)
	}
	if err != nil {
		return err
	}
	fmt.Printf("audit log intact: %d records, chain verified from the first record to the head\n", n)
	return nil
}

// newBar returns a progress bar on standard error when it is a terminal,
// and a silent one otherwise, so that logs and pipes stay clean.
func newBar(max int64, what string) *progressbar.ProgressBar {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return progressbar.DefaultSilent(max, what)
	}
	return progressbar.NewOptions64(max,
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}

// checkEmail returns a usage error unless addr is a bare email address.
func checkEmail(addr string) error {
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
		return usageError(fmt.Sprintf("--email %q is not an email address (write it as name@example.kz)", addr))
	}
	return nil
}
