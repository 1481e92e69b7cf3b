package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"qorgau.kz/qorgau"
)

// SMTP sends email through a submission server. STARTTLS is used whenever
// the server offers it, and required when a user name is set, so that a
// password never crosses the network in the clear (net/smtp's PLAIN
// authentication refuses that too, except to localhost).
type SMTP struct {
	Addr     string // host:port, e.g. mail.example.kz:587
	From     string // the sender address
	User     string // "" for no authentication
	Password string
	// TLS, if set, is the TLS configuration for STARTTLS; its ServerName
	// defaults to Addr's host. Tests set RootCAs.
	TLS *tls.Config
	// HelloName is the name given in EHLO; "localhost" if "".
	HelloName string
}

// Check returns an error that says what is wrong with the settings.
func (m *SMTP) Check() error {
	if _, _, err := net.SplitHostPort(m.Addr); err != nil {
		return fmt.Errorf("SMTP address %q: %v (write it as host:587)", m.Addr, err)
	}
	if a, err := mail.ParseAddress(m.From); err != nil || a.Address != m.From {
		return fmt.Errorf("SMTP sender %q is not an email address", m.From)
	}
	if (m.User == "") != (m.Password == "") {
		return errors.New("SMTP user and password go together")
	}
	return nil
}

// Send sends msg, a complete message with headers, to one recipient. A
// refusal with a 5xx reply is a permanent error; anything else may be
// retried.
func (m *SMTP) Send(ctx context.Context, to string, msg []byte) error {
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return permanent(err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpError(err)
	}
	defer c.Close()
	hello := m.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return smtpError(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if m.TLS != nil {
			cfg = m.TLS.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
		}
		if err := c.StartTLS(cfg); err != nil {
			return smtpError(err)
		}
	} else if m.User != "" {
		return errors.New("the SMTP server does not offer STARTTLS; refusing to send the password in the clear")
	}
	if m.User != "" {
		if err := c.Auth(smtp.PlainAuth("", m.User, m.Password, host)); err != nil {
			return smtpError(err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return smtpError(err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpError(err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return smtpError(err)
	}
	return c.Quit()
}

// smtpError marks 5xx replies permanent.
func smtpError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent(err)
	}
	return err
}

// subjects are the emails' subjects by notice kind.
var subjects = map[qorgau.NoticeKind]string{
	qorgau.NoticeDueSoon:       "An answer is due soon",
	qorgau.NoticeOverdue:       "An answer is overdue",
	qorgau.NoticeTerminalDown:  "A complaint terminal is down",
	qorgau.NoticeBelowTarget:   "A facility is below its availability target",
	qorgau.NoticeLogRollback:   "A terminal has seen a larger log than the server serves",
	qorgau.NoticeTamper:        "A terminal's case was opened",
	qorgau.NoticeMaintenance:   "Maintenance was declared",
	qorgau.NoticeTestDelivered: "A test complaint arrived",
}

// email returns the plain-text message of notice n to one recipient. It
// holds the notice's fields and nothing else.
func (s *Service) email(n *qorgau.Notice, to string) []byte {
	subject := subjects[n.Kind]
	if subject == "" {
		subject = string(n.Kind)
	}
	var body strings.Builder
	if n.Text != "" {
		fmt.Fprintf(&body, "%s\n\n", n.Text)
	}
	fmt.Fprintf(&body, "Notice:    %s\n", n.Kind)
	fmt.Fprintf(&body, "Time:      %s\n", n.Time.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&body, "Bodies:    %s\n", strings.Join(n.Bodies, ", "))
	for _, f := range []struct{ name, value string }{{"Region", n.Region}, {"Facility", n.Facility}, {"Device", n.Device}} {
		if f.value != "" {
			fmt.Fprintf(&body, "%-10s %s\n", f.name+":", f.value)
		}
	}
	if hasComplaint(n) {
		fmt.Fprintf(&body, "Complaint: %d\n", n.Complaint)
	}
	body.WriteString("\n")
	if s.cfg.ConsoleURL != "" {
		fmt.Fprintf(&body, "Read it in the Qorgau console: %s/notices\n", strings.TrimRight(s.cfg.ConsoleURL, "/"))
	} else {
		body.WriteString("Read it in the Qorgau console, under Notices.\n")
	}
	body.WriteString("This message holds no complaint content and no complainant's identity.\n")

	id := make([]byte, 12)
	rand.Read(id)
	_, domain, _ := strings.Cut(s.cfg.Mail.From, "@")
	var msg bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	h("From", (&mail.Address{Name: "Qorgau", Address: s.cfg.Mail.From}).String())
	h("To", to)
	h("Subject", mime.QEncoding.Encode("utf-8", "[Qorgau] "+subject))
	h("Date", n.Time.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	msg.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&msg)
	qp.Write([]byte(strings.ReplaceAll(body.String(), "\n", "\r\n")))
	qp.Close()
	return msg.Bytes()
}
