package qorgau

import "time"

// MonitorTest is a one-time code with which a monitor of the national
// preventive mechanism files a marked test complaint at any kiosk, to prove
// that the whole path works: kiosk, server, every recipient's inbox. Only
// the code's SHA-256 is stored. A code is used once and expires.
type MonitorTest struct {
	ID        int64
	CreatedBy string // the monitor's login name
	Body      string // the monitor's body, "" for an NPM coordinator
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
	Device    string    // the terminal that used it
	Idem      string    // the complaint's idempotency id, once used
}

// MonitorTestTTL is how long a test code may be used.
const MonitorTestTTL = 24 * time.Hour

// Audit actions of test complaints and notices.
const (
	AuditTestCodeIssued = "monitor.test.issued" // a monitor created a test code
	AuditTestCodeUsed   = "monitor.test.used"   // a terminal filed a test complaint with it
	AuditWebhookSet     = "body.webhook.set"
	AuditWebhookRemoved = "body.webhook.removed"
	AuditUserEmail      = "user.email.changed"
)
