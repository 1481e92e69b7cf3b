package web

import (
	"net/http"

	"qorgau.kz/qorgau"
)

// Access says who may use a route.
type Access int

// Kinds of access. Role-restricted routes list their roles in Route.Roles.
const (
	// Public routes need no session: health, metrics, the login form.
	Public Access = iota
	// Pending routes belong to a login in progress: a session that passed
	// the password but still owes a TOTP code, a new password or a TOTP
	// enrolment.
	Pending
	// Staff routes need a complete session and one of Route.Roles.
	Staff
	// Terminal routes need a request signed by an enrolled terminal.
	Terminal
	// Source routes need the bearer token of an active camera source.
	Source
	// Beat routes need a heartbeat session's MAC, which the handler checks
	// itself (terminal_beat.go).
	Beat
)

// Route is one entry of the route table.
type Route struct {
	Pattern string
	Access  Access
	Roles   []qorgau.Role // for Staff
	handler handlerFunc
}

// Role sets used by the table.
var (
	anyRole = []qorgau.Role{qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison, qorgau.RoleAuditor}
	// registryRoles see facilities, zones and devices. A liaison sees its own
	// facility only; the handlers narrow that.
	registryRoles = []qorgau.Role{qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison}
	auditRoles    = []qorgau.Role{qorgau.RoleAdmin, qorgau.RoleAuditor}
	adminOnly     = []qorgau.Role{qorgau.RoleAdmin}
	// membersOnly read complaints: the members of the bodies they were sent
	// to, and nobody else, administrators included.
	membersOnly = []qorgau.Role{qorgau.RoleMember}
	// fleetRoles watch terminals and cameras; a liaison its own facility.
	fleetRoles = []qorgau.Role{qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison}
	// liaisonOnly declare maintenance of their own facility.
	liaisonOnly = []qorgau.Role{qorgau.RoleLiaison}
)

// catchAll is the pattern of every request no other route claims.
const catchAll = "/"

// registerRoutes lists every route of every surface, with who may use it.
// Nothing is routed anywhere else.
func (s *Server) registerRoutes() {
	s.route("GET /healthz", Public, nil, s.healthz)
	s.route("GET /readyz", Public, nil, s.readyz)
	s.route("GET /metrics", Public, nil, s.metrics)
	s.route("GET /static/", Public, nil, s.static)
	s.route(catchAll, Public, nil, s.notFound)
	s.route("POST /lang", Public, nil, s.setLanguage)

	s.route("GET /login", Public, nil, s.loginForm)
	s.route("POST /login", Public, nil, s.login)
	s.route("GET /login/totp", Pending, nil, s.totpForm)
	s.route("POST /login/totp", Pending, nil, s.totpCheck)
	s.route("GET /login/totp-setup", Pending, nil, s.totpSetupForm)
	s.route("POST /login/totp-setup", Pending, nil, s.totpSetup)
	s.route("GET /login/password", Pending, nil, s.passwordForm)
	s.route("POST /login/password", Pending, nil, s.passwordChange)
	s.route("POST /logout", Pending, nil, s.logout)

	s.route("GET /{$}", Staff, anyRole, s.home)
	s.route("GET /facilities", Staff, registryRoles, s.facilitiesList)
	s.route("GET /facilities/{code}", Staff, registryRoles, s.facilityPage)
	s.route("GET /devices", Staff, registryRoles, s.devicesList)
	s.route("GET /audit", Staff, auditRoles, s.auditList)
	s.route("POST /audit/verify", Staff, auditRoles, s.auditVerify)
	s.route("GET /users", Staff, adminOnly, s.usersList)
	s.route("GET /inbox", Staff, membersOnly, s.inbox)
	s.route("GET /inbox/{id}", Staff, membersOnly, s.complaintPage)
	s.route("GET /inbox/{id}/voice", Staff, membersOnly, s.complaintVoice)
	s.route("POST /inbox/{id}/reply", Staff, membersOnly, s.complaintReply)
	s.route("POST /inbox/{id}/extend", Staff, membersOnly, s.complaintExtend)
	s.route("POST /inbox/{id}/close", Staff, membersOnly, s.complaintClose)
	s.route("POST /inbox/{id}/redirect", Staff, membersOnly, s.complaintRedirect)
	s.route("POST /inbox/{id}/code", Staff, membersOnly, s.complaintCode)
	s.route("POST /inbox/{id}/clear-flag", Staff, membersOnly, s.complaintClearFlag)
	s.route("POST /inbox/{id}/approve-clear", Staff, membersOnly, s.complaintApproveClear)
	s.route("POST /inbox/{id}/assign", Staff, membersOnly, s.complaintAssign)
	s.route("GET /notices", Staff, noticeRoles, s.notices)
	s.route("POST /notices/{id}/read", Staff, noticeRoles, s.noticeRead)
	s.route("POST /notices/read-all", Staff, noticeRoles, s.noticesReadAll)
	s.route("GET /tests", Staff, testRoles, s.tests)
	s.route("POST /tests", Staff, testRoles, s.testCreate)

	s.route("GET /stats", Public, nil, s.stats)
	s.route("GET /stats.csv", Public, nil, s.statsCSV)

	s.route("GET /api/v1/openapi.json", Public, nil, s.apiOpenAPI)
	s.route("GET /api/v1/stats", Public, nil, s.apiStats)
	s.route("POST /api/v1/session", Public, nil, s.apiSignIn)
	s.route("DELETE /api/v1/session", Staff, anyRole, s.apiSignOut)
	s.route("GET /api/v1/inbox", Staff, membersOnly, s.apiInbox)
	s.route("GET /api/v1/complaints/{id}", Staff, membersOnly, s.apiComplaint)
	s.route("POST /api/v1/complaints/{id}/reply", Staff, membersOnly, s.apiReplyTo)
	s.route("POST /api/v1/complaints/{id}/extend", Staff, membersOnly, s.apiExtend)
	s.route("POST /api/v1/complaints/{id}/close", Staff, membersOnly, s.apiClose)
	s.route("POST /api/v1/complaints/{id}/redirect", Staff, membersOnly, s.apiRedirect)
	s.route("POST /api/v1/complaints/{id}/assign", Staff, membersOnly, s.apiAssign)
	s.route("POST /api/v1/complaints/{id}/clear-flag", Staff, membersOnly, s.apiClearFlag)
	s.route("POST /api/v1/complaints/{id}/approve-clear", Staff, membersOnly, s.apiApproveClear)
	s.route("GET /api/v1/complaints/{id}/voice", Staff, membersOnly, s.complaintVoice)
	s.route("POST /api/v1/complaints/{id}/code", Staff, membersOnly, s.apiCode)

	s.route("GET /log/checkpoint", Public, nil, s.logCheckpoint)
	s.route("GET /log/key", Public, nil, s.logFiles)
	s.route("GET /log/tile/{path...}", Public, nil, s.logFiles)

	s.route("POST /api/terminal/v1/enroll", Public, nil, s.terminalEnroll)
	s.route("GET /api/terminal/v1/hello", Terminal, nil, s.terminalHello)
	s.route("GET /api/terminal/v1/directory", Terminal, nil, s.terminalDirectory)
	s.route("GET /api/terminal/v1/facility", Terminal, nil, s.terminalFacility)
	s.route("POST /api/terminal/v1/complaints", Terminal, nil, s.terminalSubmit)
	s.route("POST /api/terminal/v1/test-codes/check", Terminal, nil, s.terminalTestCode)
	s.route("GET /api/terminal/v1/complaints/{id}/receipt", Terminal, nil, s.terminalReceipt)
	s.route("GET /api/terminal/v1/followup/{lookup}", Terminal, nil, s.terminalFollowup)
	s.route("POST /api/terminal/v1/complaints/{id}/read", Terminal, nil, s.terminalAnswerRead)
	s.route("POST /api/terminal/v1/heartbeat", Terminal, nil, s.terminalHeartbeat)
	s.route("POST /api/terminal/v1/heartbeat/session", Terminal, nil, s.terminalBeatSession)
	s.route("POST "+beatPath, Beat, nil, s.terminalBeat)
	s.route("POST /api/terminal/v1/journal", Terminal, nil, s.terminalJournal)
	s.route("POST /api/terminal/v1/usage", Terminal, nil, s.terminalUsage)

	s.route("POST /api/v1/devices/heartbeats", Source, nil, s.apiDeviceHeartbeats)
	s.route("POST /api/v1/maintenance", Staff, liaisonOnly, s.apiMaintenance)
	s.route("POST /fleet/facility/{code}/maintenance", Staff, liaisonOnly, s.fleetMaintenance)
	s.route("GET /fleet", Staff, fleetRoles, s.fleetPage)
	s.route("GET /fleet/events", Staff, fleetRoles, s.fleetEvents)
	s.route("GET /fleet/facility/{code}", Staff, fleetRoles, s.fleetFacility)
	s.route("GET /fleet/availability", Staff, fleetRoles, s.fleetAvailability)
	s.route("GET /fleet/availability.csv", Staff, fleetRoles, s.fleetAvailabilityCSV)
	s.route("GET /fleet/availability.pdf", Staff, fleetRoles, s.fleetAvailabilityPDF)
}

// Routes returns the route table, for tests and documentation.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) route(pattern string, access Access, roles []qorgau.Role, h handlerFunc) {
	rt := Route{Pattern: pattern, Access: access, Roles: roles, handler: h}
	if access == Staff && len(roles) == 0 {
		panic("web: staff route " + pattern + " names no role")
	}
	s.routes = append(s.routes, rt)
	s.mux.Handle(pattern, s.guard(rt))
}

// allows reports whether a complete session of role may use the route.
func (rt Route) allows(role qorgau.Role) bool {
	for _, r := range rt.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// guard loads the session, enforces the route's access, refuses input
// that is not text (checkInput), and renders any error the handler
// returns. It is the one place where access is decided
// by role; handlers narrow further by owner (a liaison's own facility).
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := s.newRequest(w, r)
		var err error
		switch rt.Access {
		case Public, Beat:
		case Pending:
			if req.Session == nil {
				err = errLoginRequired
			}
		case Terminal:
			err = s.authenticateTerminal(req)
		case Source:
			err = s.authenticateSource(req)
		case Staff:
			switch {
			case req.Session == nil:
				err = errLoginRequired
			case req.Session.Stage != qorgau.StageFull:
				err = errLoginIncomplete
			case !rt.allows(req.User.Role):
				err = qorgau.Errorf(qorgau.EFORBIDDEN, "forbidden")
			}
		}
		if err == nil {
			err = checkInput(req.Request)
		}
		if err == nil {
			err = rt.handler(w, req)
		}
		if err != nil {
			s.renderError(w, req, err)
		}
	})
}
