package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"qorgau.kz/qorgau/internal/notify"
	"qorgau.kz/qorgau/internal/store"
)

// notifyFlags configure notices: email over SMTP, and the deadline
// worker's warning window. Webhooks are set per body (qorgau admin body
// webhook).
type notifyFlags struct {
	smtpAddr     string
	smtpFrom     string
	smtpUser     string
	smtpPassword string
	consoleURL   string
	dueSoonDays  int
}

func (f *notifyFlags) register(fs interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	fs.StringVar(&f.smtpAddr, "smtp-addr", "", "SMTP submission server host:port for notices by email; empty sends no email")
	fs.StringVar(&f.smtpFrom, "smtp-from", "", "sender address of notice emails")
	fs.StringVar(&f.smtpUser, "smtp-user", "", "SMTP user name; the password is only sent over STARTTLS")
	fs.StringVar(&f.smtpPassword, "smtp-password", "", "SMTP password (prefer the QORGAU_SMTP_PASSWORD variable: flags show in ps)")
	fs.StringVar(&f.consoleURL, "console-url", "", "the console's public URL, named in notice emails, e.g. https://qorgau.example.kz")
	intVar(fs, &f.dueSoonDays, "due-soon-days", 2, "warn members this many working days before an answer is due")
}

func (f *notifyFlags) validate() error {
	if f.dueSoonDays < 0 || f.dueSoonDays > 30 {
		return usageError("-due-soon-days must be between 0 and 30")
	}
	if f.consoleURL != "" {
		if u, err := url.Parse(f.consoleURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usageError(fmt.Sprintf("-console-url %q must be an http(s) URL", f.consoleURL))
		}
	}
	if f.smtpAddr == "" {
		if f.smtpFrom != "" || f.smtpUser != "" {
			return usageError("-smtp-from and -smtp-user need -smtp-addr")
		}
		return nil
	}
	if err := f.mail().Check(); err != nil {
		return usageError(err.Error())
	}
	return nil
}

func (f *notifyFlags) mail() *notify.SMTP {
	return &notify.SMTP{Addr: f.smtpAddr, From: f.smtpFrom, User: f.smtpUser, Password: f.smtpPassword}
}

// notifier returns the notifier the flags describe; serve runs it.
func (f *notifyFlags) notifier(db *store.DB, log *slog.Logger) *notify.Service {
	cfg := notify.Config{ConsoleURL: f.consoleURL}
	if f.smtpAddr != "" {
		cfg.Mail = f.mail()
	} else {
		log.Info("notices are not sent by email: no -smtp-addr")
	}
	return notify.New(db, log, cfg)
}
