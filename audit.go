package qorgau

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Audit actions. The audit log records security events; each action is a
// short dotted name so that the log can be filtered.
const (
	AuditLogin          = "login"
	AuditLoginFailed    = "login.failed"
	AuditLoginThrottled = "login.throttled"
	AuditLogout         = "logout"
	AuditTOTPEnrolled   = "totp.enrolled"
	AuditTOTPFailed     = "totp.failed"
	AuditPasswordChange = "password.changed"
	AuditUserAdded      = "user.added"
	AuditUserChanged    = "user.changed"
	AuditUserDisabled   = "user.disabled"
	AuditImport         = "import"
	AuditExport         = "export"
)

// Audit actions of keys and terminals.
const (
	AuditMemberKeySet      = "member.key.set"      // a member's key was created or re-wrapped
	AuditBodyKeyCreated    = "body.key.created"    // a body's first key
	AuditBodyKeyRotated    = "body.key.rotated"    // a new current version
	AuditBodyKeyRetired    = "body.key.retired"    // retired with no successor
	AuditBodyMemberAdded   = "body.member.added"   // wrapped to a new member
	AuditBodyMemberRemoved = "body.member.removed" // every wrap of the member deleted
	AuditBodyKeyGranted    = "body.key.granted"    // older versions wrapped to a member
	AuditEnrollmentIssued  = "terminal.token.issued"
	AuditEnrolled          = "terminal.enrolled"
	AuditEnrollmentFailed  = "terminal.enrol.failed"
	AuditTerminalRevoked   = "terminal.revoked"
	// AuditComplaintRead is written before a complaint is decrypted for a
	// member: who read which complaint, when, from where.
	AuditComplaintRead = "complaint.read"
	// Coding and the two-person clearing of a torture flag.
	AuditComplaintCoded     = "complaint.coded"
	AuditFlagClearRequested = "torture.flag.clear.requested"
	AuditFlagCleared        = "torture.flag.cleared"
	AuditComplaintAssigned  = "complaint.assigned"
	// AuditLogErased is written with the crypto-shredding of a log
	// entry's object and salt (qorgau admin log erase); Detail holds
	// the reason.
	AuditLogErased = "log.erased"
)

// AuditActions lists every audit action, for the audit page's filter and
// for the test that each has a name in every language of the console.
var AuditActions = []string{
	AuditLogin, AuditLoginFailed, AuditLoginThrottled, AuditLogout,
	AuditTOTPEnrolled, AuditTOTPFailed, AuditPasswordChange,
	AuditUserAdded, AuditUserChanged, AuditUserDisabled, AuditUserEmail,
	AuditImport, AuditExport,
	AuditMemberKeySet, AuditBodyKeyCreated, AuditBodyKeyRotated, AuditBodyKeyRetired,
	AuditBodyMemberAdded, AuditBodyMemberRemoved, AuditBodyKeyGranted,
	AuditEnrollmentIssued, AuditEnrolled, AuditEnrollmentFailed, AuditTerminalRevoked,
	AuditComplaintRead, AuditComplaintCoded, AuditFlagClearRequested, AuditFlagCleared, AuditComplaintAssigned,
	AuditLogErased,
	AuditTestCodeIssued, AuditTestCodeUsed, AuditWebhookSet, AuditWebhookRemoved,
	AuditSourceAdded, AuditSourceRevoked, AuditMaintenanceDeclared,
}

// AuditRecord is one entry of the append-only, hash-chained audit log. Hash
// commits to PrevHash and every other field, so that changing, removing or
// reordering a record breaks the chain from that record on.
type AuditRecord struct {
	Seq      int64
	At       time.Time // UTC, microsecond precision (both engines store that)
	Actor    string    // user name, "system" or "cli:<os user>"
	Action   string
	Target   string
	Detail   string
	Addr     string // remote address, "" for the command line
	PrevHash string // hex; 64 zeros for the first record
	Hash     string // hex
}

// GenesisHash is PrevHash of the first audit record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the hex SHA-256 over the record's sequence number,
// time, fields and PrevHash, each field length-prefixed so that no two
// different records encode the same way.
func (r *AuditRecord) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(r.Seq))
	h.Write([]byte("qorgau-audit-v1\n"))
	h.Write(n[:])
	for _, f := range []string{
		r.At.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Target, r.Detail, r.Addr, r.PrevHash,
	} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditFilter selects audit records, newest first. Zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Action string
	Before int64 // only records with Seq < Before
	Limit  int
}
