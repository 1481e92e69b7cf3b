package web

import (
	"net/http"
	"strconv"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// noticeRoles read notices: members those of their body, NPM coordinators
// those of the NPM's bodies, administrators all.
var noticeRoles = []qorgau.Role{qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM}

// noticeScope is what notices the user may see.
func noticeScope(u *qorgau.User) (store.NoticeScope, error) {
	switch u.Role {
	case qorgau.RoleAdmin:
		return store.NoticeScope{}, nil
	case qorgau.RoleMember:
		return store.NoticeScope{Body: u.Body}, nil
	case qorgau.RoleNPM:
		return store.NoticeScope{BodyKind: qorgau.BodyNPM}, nil
	}
	return store.NoticeScope{}, qorgau.Errorf(qorgau.EFORBIDDEN, "forbidden")
}

// noticeRow is a notice with its message in the reader's language.
type noticeRow struct {
	store.NoticeRow
	Title   string
	Message string
}

// noticeMessage renders a notice from its fields in the reader's language;
// the English Text is for email and webhooks.
func noticeMessage(l *Locale, n *qorgau.Notice) (title, msg string) {
	title = l.Enum("notices.kind", n.Kind)
	switch n.Kind {
	case qorgau.NoticeDueSoon, qorgau.NoticeOverdue, qorgau.NoticeTestDelivered:
		msg = l.Tf("notices.msg."+string(n.Kind), n.Complaint)
	case qorgau.NoticeTerminalDown, qorgau.NoticeLogRollback, qorgau.NoticeTamper:
		msg = l.Tf("notices.msg."+string(n.Kind), n.Device)
	case qorgau.NoticeBelowTarget, qorgau.NoticeMaintenance:
		msg = l.Tf("notices.msg."+string(n.Kind), n.Facility)
	default:
		msg = n.Text
	}
	return title, msg
}

// notices lists the notices the user may see, newest first.
func (s *Server) notices(w http.ResponseWriter, r *request) error {
	scope, err := noticeScope(r.User)
	if err != nil {
		return err
	}
	list, err := s.db.Notices(r.Context(), scope, r.User.ID, 300)
	if err != nil {
		return err
	}
	rows := make([]noticeRow, len(list))
	unread := 0
	for i, n := range list {
		rows[i].NoticeRow = n
		rows[i].Title, rows[i].Message = noticeMessage(r.L, &n.Notice)
		if !n.Read {
			unread++
		}
	}
	return s.render(w, r, http.StatusOK, "notices", "notices.title", struct {
		Rows   []noticeRow
		Unread int
	}{rows, unread})
}

// noticeRead marks one notice read for the user.
func (s *Server) noticeRead(w http.ResponseWriter, r *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return qorgau.Errorf(qorgau.EINVALID, "notice id must be a positive number")
	}
	return s.markRead(w, r, id)
}

// noticesReadAll marks every notice the user may see read.
func (s *Server) noticesReadAll(w http.ResponseWriter, r *request) error { return s.markRead(w, r, 0) }

func (s *Server) markRead(w http.ResponseWriter, r *request, id int64) error {
	scope, err := noticeScope(r.User)
	if err != nil {
		return err
	}
	if err := s.db.MarkNoticesRead(r.Context(), scope, r.User.ID, id); err != nil {
		return err
	}
	http.Redirect(w, r.Request, "/notices", http.StatusSeeOther)
	return nil
}

// headerState is what the layout's header shows beside the user: how many
// notices are unread, and whether the user may make test complaints.
// Failures are logged and show nothing: the header never fails a page.
func (s *Server) headerState(r *request) (unread int, monitor bool) {
	if r.User == nil {
		return 0, false
	}
	if scope, err := noticeScope(r.User); err == nil {
		if unread, err = s.db.UnreadNotices(r.Context(), scope, r.User.ID); err != nil {
			s.log.Warn("count unread notices", "err", err)
		}
	}
	_, err := s.monitorBody(r)
	return unread, err == nil
}
