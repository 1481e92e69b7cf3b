package qorgau

import (
	"slices"
	"time"
)

// Role is what a staff account is for. What each role may see is decided in
// one place, internal/web/routes.go, and tested as a table.
type Role string

// Roles.
const (
	// RoleAdmin runs the deployment: registry, accounts, the audit log. It
	// does not read complaints.
	RoleAdmin Role = "admin"
	// RoleMember belongs to one recipient body and works its inbox.
	RoleMember Role = "member"
	// RoleNPM coordinates the national preventive mechanism's visits.
	RoleNPM Role = "npm"
	// RoleLiaison is a facility's technical contact: it sees the health of
	// its own facility's devices and nothing about complaints or visits.
	RoleLiaison Role = "liaison"
	// RoleAuditor sees statistics and the audit log only.
	RoleAuditor Role = "auditor"
)

// Roles lists every role in display order.
var Roles = []Role{RoleAdmin, RoleMember, RoleNPM, RoleLiaison, RoleAuditor}

// User is a staff account of the console.
type User struct {
	ID       int64
	Name     string // login name
	FullName string
	Role     Role
	Body     string // body code, for RoleMember
	Facility string // facility code, for RoleLiaison

	PasswordHash       string // PHC-formatted Argon2id hash
	MustChangePassword bool   // set for one-time passwords
	TOTPSecret         string // base32; "" until enrolled
	Disabled           bool
	CreatedAt          time.Time
}

// Validate returns an EINVALID error naming the first bad field. A member
// must name a body and nothing else; a liaison must name a facility and
// nothing else; other roles name neither.
func (u *User) Validate() error {
	if err := checkCode("user name", u.Name); err != nil {
		return err
	}
	if len(u.FullName) > 300 {
		return Errorf(EINVALID, "full name is longer than 300 bytes")
	}
	if !slices.Contains(Roles, u.Role) {
		return Errorf(EINVALID, "role %q is not one of %s", u.Role, joinKinds(Roles))
	}
	switch u.Role {
	case RoleMember:
		if u.Body == "" {
			return Errorf(EINVALID, "a member must belong to a body (--body)")
		}
		if u.Facility != "" {
			return Errorf(EINVALID, "a member does not belong to a facility")
		}
	case RoleLiaison:
		if u.Facility == "" {
			return Errorf(EINVALID, "a facility liaison must name a facility (--facility)")
		}
		if u.Body != "" {
			return Errorf(EINVALID, "a facility liaison does not belong to a body")
		}
	default:
		if u.Body != "" || u.Facility != "" {
			return Errorf(EINVALID, "role %s belongs to neither a body nor a facility", u.Role)
		}
	}
	return nil
}

// Session is a logged-in console session. The token itself is never stored;
// only its SHA-256 is.
type Session struct {
	ID        string // hex SHA-256 of the cookie token
	UserID    int64
	Stage     SessionStage
	CreatedAt time.Time
	LastSeen  time.Time
	Addr      string
}

// SessionStage is how far a login has got.
type SessionStage string

// Session stages. Only StageFull may use the console.
const (
	StagePassword       SessionStage = "password"        // password ok, TOTP code pending
	StageTOTPEnrol      SessionStage = "totp-enrol"      // password ok, must enrol TOTP
	StageChangePassword SessionStage = "change-password" // must replace a one-time password
	StageFull           SessionStage = "full"
)
