package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"qorgau.kz/qorgau"
)

// Complaint is a complaint's public routing data as the server keeps it;
// its content is only in the sealed envelope, the log object of leaf ID.
type Complaint struct {
	ID       int64 // index of the complaint's leaf in the log
	Idem     string
	Device   string
	Facility string
	Region   string
	Category qorgau.Category
	Urgent   bool
	Test     bool
	LookupID string
	Received time.Time
	Bodies   []ComplaintBody
}

// ComplaintBody is one recipient body's copy of a complaint.
type ComplaintBody struct {
	Body       string
	State      qorgau.ComplaintState
	Delivered  time.Time
	Due        time.Time
	AssignedTo string // a member's login name, "" while unassigned
}

// SaveComplaints stores complaints and their recipients in one
// transaction, skipping any whose id is already stored: projecting the same
// log leaf twice is harmless.
func (db *DB) SaveComplaints(ctx context.Context, list []*Complaint) error {
	if db.Engine() == "postgres" {
		return db.saveComplaintsPostgres(ctx, list)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// Prepared once per batch: SQLite would otherwise parse the same
		// statement for every row.
		insC, err := tx.PrepareContext(ctx, `INSERT INTO complaints (id, idem, device, facility, region, category, urgent, test, lookup_id, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("save complaints: %w", err)
		}
		defer insC.Close()
		insB, err := tx.PrepareContext(ctx, `INSERT INTO complaint_bodies (complaint, body, state, delivered_at, due_at) VALUES ($1, $2, $3, $4, $5)`)
		if err != nil {
			return fmt.Errorf("save complaints: %w", err)
		}
		defer insB.Close()
		for _, c := range list {
			res, err := insC.ExecContext(ctx, c.ID, c.Idem, c.Device, c.Facility, c.Region, string(c.Category), c.Urgent, c.Test, c.LookupID, c.Received.UTC())
			if err != nil {
				return fmt.Errorf("save complaint %d: %w", c.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			for _, b := range c.Bodies {
				if _, err := insB.ExecContext(ctx, c.ID, b.Body, string(b.State), b.Delivered.UTC(), b.Due.UTC()); err != nil {
					return fmt.Errorf("save complaint %d for %s: %w", c.ID, b.Body, err)
				}
			}
		}
		return nil
	})
}

// saveComplaintsPostgres is SaveComplaints in one statement, hence one
// round trip: the rows travel as arrays. Row by row, as on SQLite, cost a
// round trip each, and delivery fell behind the log under load, until the
// submissions waiting for it stalled for up to a second.
func (db *DB) saveComplaintsPostgres(ctx context.Context, list []*Complaint) error {
	n := len(list)
	ids, idems, devices, facilities, regions, categories, lookups := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	urgent, test, received := make([]bool, n), make([]bool, n), make([]time.Time, n)
	var bc, bstate []string
	var bid []int64
	var bdelivered, bdue []time.Time
	for i, c := range list {
		ids[i], idems[i], devices[i], facilities[i], regions[i] = c.ID, c.Idem, c.Device, c.Facility, c.Region
		categories[i], urgent[i], test[i], lookups[i], received[i] = string(c.Category), c.Urgent, c.Test, c.LookupID, c.Received.UTC()
		for _, b := range c.Bodies {
			bid, bc, bstate = append(bid, c.ID), append(bc, b.Body), append(bstate, string(b.State))
			bdelivered, bdue = append(bdelivered, b.Delivered.UTC()), append(bdue, b.Due.UTC())
		}
	}
	// The bodies' rows go in only for complaints new to the table, as
	// SaveComplaints does row by row.
	_, err := db.w.ExecContext(ctx, `WITH c AS (
		INSERT INTO complaints (id, idem, device, facility, region, category, urgent, test, lookup_id, received_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::boolean[], $9::text[], $10::timestamptz[])
		ON CONFLICT (id) DO NOTHING RETURNING id
	)
	INSERT INTO complaint_bodies (complaint, body, state, delivered_at, due_at)
	SELECT b.* FROM unnest($11::bigint[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[]) AS b (complaint, body, state, delivered_at, due_at)
	WHERE b.complaint IN (SELECT id FROM c)`,
		ids, idems, devices, facilities, regions, categories, urgent, test, lookups, received,
		bid, bc, bstate, bdelivered, bdue)
	if err != nil {
		return fmt.Errorf("save %d complaints: %w", n, err)
	}
	return nil
}

// SaveComplaint stores one complaint; see SaveComplaints.
func (db *DB) SaveComplaint(ctx context.Context, c *Complaint) error {
	return db.SaveComplaints(ctx, []*Complaint{c})
}

// Complaint returns the complaint with the given id and its recipients, or
// ENOTFOUND.
func (db *DB) Complaint(ctx context.Context, id int64) (*Complaint, error) {
	var c Complaint
	err := db.r.QueryRowContext(ctx, `SELECT id, idem, device, facility, region, category, urgent, test, lookup_id, received_at
		FROM complaints WHERE id = $1`, id).Scan(&c.ID, &c.Idem, &c.Device, &c.Facility, &c.Region, &c.Category, &c.Urgent, &c.Test, &c.LookupID, &c.Received)
	if err != nil {
		return nil, notFound(err, "complaint %d not found", id)
	}
	c.Received = c.Received.UTC()
	rows, err := db.r.QueryContext(ctx, `SELECT body, state, delivered_at, due_at, assigned_to FROM complaint_bodies WHERE complaint = $1 ORDER BY body`, id)
	if err != nil {
		return nil, fmt.Errorf("complaint %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b ComplaintBody
		if err := rows.Scan(&b.Body, &b.State, &b.Delivered, &b.Due, &b.AssignedTo); err != nil {
			return nil, fmt.Errorf("complaint %d: %w", id, err)
		}
		b.Delivered, b.Due = b.Delivered.UTC(), b.Due.UTC()
		c.Bodies = append(c.Bodies, b)
	}
	return &c, rows.Err()
}

// ComplaintIDsByLookup returns the ids of complaints filed with a receipt
// code's lookup id, oldest first.
func (db *DB) ComplaintIDsByLookup(ctx context.Context, lookupID string) ([]int64, error) {
	return db.ids(ctx, `SELECT id FROM complaints WHERE lookup_id = $1 ORDER BY id`, lookupID)
}

// UnprojectedLeaves returns the indexes of log leaves of the given kind
// that have no complaint row yet, in order: complaints the log accepted
// but whose rows a crash kept from being written.
func (db *DB) UnprojectedLeaves(ctx context.Context, kind string) ([]int64, error) {
	return db.ids(ctx, `SELECT l.idx FROM log_leaves l LEFT JOIN complaints c ON c.id = l.idx
		WHERE l.kind = $1 AND c.id IS NULL ORDER BY l.idx`, kind)
}

// ids runs a query of one integer column and returns its values.
func (db *DB) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query ids: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CountComplaints returns how many complaints are stored.
func (db *DB) CountComplaints(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM complaints`).Scan(&n)
	return n, err
}

// LogLeafTime returns when the log committed the leaf at index.
func (db *DB) LogLeafTime(ctx context.Context, index int64) (time.Time, error) {
	var t time.Time
	if err := db.r.QueryRowContext(ctx, `SELECT created_at FROM log_leaves WHERE idx = $1`, index).Scan(&t); err != nil {
		return time.Time{}, notFound(err, "log entry %d not found", index)
	}
	return t.UTC(), nil
}

// InboxItem is one complaint in a body's inbox.
type InboxItem struct {
	ID         int64
	Facility   string
	Category   qorgau.Category
	Urgent     bool
	Test       bool
	Torture    bool // the person chose the category, or the body coded the flag
	Received   time.Time
	State      qorgau.ComplaintState
	Due        time.Time
	AssignedTo string
}

// InboxFilter narrows an inbox. Zero fields do not filter.
type InboxFilter struct {
	Facility   string
	Category   qorgau.Category
	State      qorgau.ComplaintState
	OverdueAt  time.Time // only copies still open past their term at this time
	Torture    bool      // only torture or ill-treatment allegations
	AssignedTo string
	Limit      int // at most 2,000; 200 when 0
	Offset     int // rows of the same order to skip
}

// Inbox returns a body's complaints selected by f, the open, most urgent
// and oldest-due first.
func (db *DB) Inbox(ctx context.Context, body string, f InboxFilter) ([]InboxItem, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 200
	case f.Limit > 2000:
		f.Limit = 2000
	}
	f.Offset = max(f.Offset, 0)
	overdueOnly, overdueAt := !f.OverdueAt.IsZero(), f.OverdueAt.UTC()
	rows, err := db.r.QueryContext(ctx, `SELECT c.id, c.facility, c.category, c.urgent, c.test,
			c.category = 'torture' OR COALESCE(k.torture, FALSE), c.received_at, b.state, b.due_at, b.assigned_to
		FROM complaint_bodies b JOIN complaints c ON c.id = b.complaint
		LEFT JOIN complaint_codings k ON k.complaint = b.complaint AND k.body = b.body
		WHERE b.body = $1
		AND ($2 = '' OR c.facility = $2) AND ($3 = '' OR c.category = $3) AND ($4 = '' OR b.state = $4)
		AND ($5 = '' OR b.assigned_to = $5)
		AND (NOT $6 OR c.category = 'torture' OR COALESCE(k.torture, FALSE))
		AND (NOT $7 OR (b.due_at < $8 AND b.state IN ('delivered', 'registered', 'under-review', 'extended')))
		ORDER BY CASE WHEN b.state = 'closed' THEN 1 ELSE 0 END, c.urgent DESC, b.due_at, c.id
		LIMIT $9 OFFSET $10`, body, f.Facility, string(f.Category), string(f.State), f.AssignedTo, f.Torture, overdueOnly, overdueAt, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	defer rows.Close()
	var list []InboxItem
	for rows.Next() {
		var it InboxItem
		if err := rows.Scan(&it.ID, &it.Facility, &it.Category, &it.Urgent, &it.Test, &it.Torture, &it.Received, &it.State, &it.Due, &it.AssignedTo); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		it.Received, it.Due = it.Received.UTC(), it.Due.UTC()
		list = append(list, it)
	}
	return list, rows.Err()
}

// Assign assigns a body's copy of a complaint to a member of the body (by
// name; "" unassigns) and appends audit in the same transaction.
func (db *DB) Assign(ctx context.Context, complaint int64, body, member string, audit *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE complaint_bodies SET assigned_to = $1 WHERE complaint = $2 AND body = $3`, member, complaint, body)
		if err != nil {
			return fmt.Errorf("assign: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return qorgau.Errorf(ENOTFOUND, "complaint %d was not sent to %s", complaint, body)
		}
		return db.appendAudit(ctx, tx, audit)
	})
}

// ComplaintEvent is a change of a body's copy of a complaint.
type ComplaintEvent struct {
	Complaint int64
	Body      string
	At        time.Time
	Actor     string // a member's name, "system" or "complainant"
	State     qorgau.ComplaintState
	Event     string // qorgau.EventOverdue and the like; "" for a change of state
	// Reason is the member's own words: why the term was extended or the
	// complaint redirected. It is shown as typed, in no catalogue.
	Reason string
	// The facts of the event, which readers see in their own language.
	Term     string            // YYYY-MM-DD: the extended term's end, or the missed term's for an overdue event
	To       string            // a redirection's new body
	Outcome  qorgau.Outcome    // how a closed copy ended
	Evidence []qorgau.Evidence // what the body considered before closing
	Device   string            // the terminal where the complainant read the answer
	LogIndex int64             // the status leaf that records it
	NewDue   time.Time         // for an extension: the new end of the term
}

// eventColumns are the stored columns of a ComplaintEvent, in the order
// eventArgs and scanEvent use.
const eventColumns = `complaint, body, at, actor, state, event, reason, term, to_body, outcome, evidence, device, log_index`

func eventArgs(ev *ComplaintEvent) []any {
	kinds := make([]string, len(ev.Evidence))
	for i, e := range ev.Evidence {
		kinds[i] = string(e)
	}
	return []any{ev.Complaint, ev.Body, ev.At.UTC(), ev.Actor, string(ev.State), ev.Event, ev.Reason,
		ev.Term, ev.To, string(ev.Outcome), strings.Join(kinds, ","), ev.Device, ev.LogIndex}
}

func scanEvent(rows *sql.Rows) (ComplaintEvent, error) {
	var e ComplaintEvent
	var evidence string
	err := rows.Scan(&e.Complaint, &e.Body, &e.At, &e.Actor, &e.State, &e.Event, &e.Reason,
		&e.Term, &e.To, &e.Outcome, &evidence, &e.Device, &e.LogIndex)
	if err != nil {
		return e, err
	}
	if evidence != "" {
		for _, k := range strings.Split(evidence, ",") {
			e.Evidence = append(e.Evidence, qorgau.Evidence(k))
		}
	}
	e.At = e.At.UTC()
	return e, nil
}

// Reply is an answer to a complainant, sealed to their reply key and the
// body's key.
type Reply struct {
	Complaint  int64
	Body       string
	At         time.Time
	Author     string
	Ciphertext []byte
	LogIndex   int64
}

// RecordEvent moves a body's copy of a complaint to ev.State, if the state
// machine allows it from the current state, and stores the event and, if
// not nil, the reply, in one transaction. A move the state machine forbids
// is ECONFLICT; a complaint not sent to the body is ENOTFOUND.
func (db *DB) RecordEvent(ctx context.Context, ev *ComplaintEvent, reply *Reply) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var state qorgau.ComplaintState
		err := tx.QueryRowContext(ctx, `SELECT state FROM complaint_bodies WHERE complaint = $1 AND body = $2`, ev.Complaint, ev.Body).Scan(&state)
		if err != nil {
			return notFound(err, "complaint %d was not sent to %s", ev.Complaint, ev.Body)
		}
		if ev.Event != "" {
			ev.State = state // an event leaves the state as it is
		} else {
			if !state.CanBecome(ev.State) {
				return qorgau.Errorf(ECONFLICT, "complaint %d is %s for %s and cannot become %s", ev.Complaint, state, ev.Body, ev.State)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE complaint_bodies SET state = $1 WHERE complaint = $2 AND body = $3`,
				string(ev.State), ev.Complaint, ev.Body); err != nil {
				return fmt.Errorf("record event: %w", err)
			}
			if !ev.NewDue.IsZero() {
				if _, err := tx.ExecContext(ctx, `UPDATE complaint_bodies SET due_at = $1 WHERE complaint = $2 AND body = $3`,
					ev.NewDue.UTC(), ev.Complaint, ev.Body); err != nil {
					return fmt.Errorf("record event: %w", err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_events (`+eventColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, eventArgs(ev)...); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		if reply != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_replies (complaint, body, at, author, ciphertext, log_index)
				VALUES ($1, $2, $3, $4, $5, $6)`, reply.Complaint, reply.Body, reply.At.UTC(), reply.Author, reply.Ciphertext, reply.LogIndex); err != nil {
				return fmt.Errorf("record reply: %w", err)
			}
		}
		return nil
	})
}

// ComplaintEvents returns a complaint's events, oldest first.
func (db *DB) ComplaintEvents(ctx context.Context, complaint int64) ([]ComplaintEvent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM complaint_events
		WHERE complaint = $1 ORDER BY at, log_index`, complaint)
	if err != nil {
		return nil, fmt.Errorf("complaint events: %w", err)
	}
	defer rows.Close()
	var list []ComplaintEvent
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("complaint events: %w", err)
		}
		list = append(list, e)
	}
	return list, rows.Err()
}

// Replies returns a complaint's replies, oldest first.
func (db *DB) Replies(ctx context.Context, complaint int64) ([]Reply, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT complaint, body, at, author, ciphertext, log_index FROM complaint_replies
		WHERE complaint = $1 ORDER BY at, log_index`, complaint)
	if err != nil {
		return nil, fmt.Errorf("replies: %w", err)
	}
	defer rows.Close()
	var list []Reply
	for rows.Next() {
		var r Reply
		if err := rows.Scan(&r.Complaint, &r.Body, &r.At, &r.Author, &r.Ciphertext, &r.LogIndex); err != nil {
			return nil, err
		}
		r.At = r.At.UTC()
		list = append(list, r)
	}
	return list, rows.Err()
}

// OverdueCopy is a body's copy of a complaint whose term has passed
// unanswered.
type OverdueCopy struct {
	Complaint int64
	Body      string
	Due       time.Time
}

// NewlyOverdue returns the copies whose term ended before now, that are not
// answered, redirected or closed, and that have no overdue event yet.
func (db *DB) NewlyOverdue(ctx context.Context, now time.Time, limit int) ([]OverdueCopy, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT b.complaint, b.body, b.due_at FROM complaint_bodies b
		WHERE b.due_at < $1 AND b.state IN ('delivered', 'registered', 'under-review', 'extended')
		AND NOT EXISTS (SELECT 1 FROM complaint_events e WHERE e.complaint = b.complaint AND e.body = b.body AND e.event = 'overdue')
		ORDER BY b.due_at LIMIT $2`, now.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("overdue: %w", err)
	}
	defer rows.Close()
	var list []OverdueCopy
	for rows.Next() {
		var o OverdueCopy
		if err := rows.Scan(&o.Complaint, &o.Body, &o.Due); err != nil {
			return nil, err
		}
		list = append(list, o)
	}
	return list, rows.Err()
}

// Holidays returns the days the operator imported, as calendar days.
func (db *DB) Holidays(ctx context.Context) ([]qorgau.Holiday, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT day, name, working FROM holidays ORDER BY day`)
	if err != nil {
		return nil, fmt.Errorf("holidays: %w", err)
	}
	defer rows.Close()
	var list []qorgau.Holiday
	for rows.Next() {
		var day string
		var h qorgau.Holiday
		if err := rows.Scan(&day, &h.Name, &h.Working); err != nil {
			return nil, err
		}
		if h.Date, err = time.Parse("2006-01-02", day); err != nil {
			return nil, fmt.Errorf("holidays: stored day %q: %w", day, err)
		}
		list = append(list, h)
	}
	return list, rows.Err()
}

// SaveHolidays inserts or updates days and appends audit in the same
// transaction.
func (db *DB) SaveHolidays(ctx context.Context, list []qorgau.Holiday, audit *qorgau.AuditRecord) error {
	rows := make([][]any, len(list))
	for i, h := range list {
		rows[i] = []any{h.Date.Format("2006-01-02"), h.Name, h.Working}
	}
	return db.save(ctx, "holidays", []string{"day", "name", "working"}, 1, rows, audit)
}

// StatRow counts body copies of complaints by facility, category, body,
// state and whether the term was missed. Test complaints are not counted.
type StatRow struct {
	Facility string
	Region   string
	Category qorgau.Category
	Body     string
	State    qorgau.ComplaintState
	Overdue  bool
	Count    int
}

// ComplaintStats returns the counts behind the public statistics. Nothing
// in them comes from a complaint's content.
func (db *DB) ComplaintStats(ctx context.Context) ([]StatRow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT c.facility, c.region, c.category, b.body, b.state,
			EXISTS (SELECT 1 FROM complaint_events e WHERE e.complaint = b.complaint AND e.body = b.body AND e.event = 'overdue'),
			COUNT(*)
		FROM complaint_bodies b JOIN complaints c ON c.id = b.complaint
		WHERE NOT c.test
		GROUP BY c.facility, c.region, c.category, b.body, b.state, 6
		ORDER BY c.facility, c.category, b.body, b.state`)
	if err != nil {
		return nil, fmt.Errorf("complaint statistics: %w", err)
	}
	defer rows.Close()
	var list []StatRow
	for rows.Next() {
		var r StatRow
		if err := rows.Scan(&r.Facility, &r.Region, &r.Category, &r.Body, &r.State, &r.Overdue, &r.Count); err != nil {
			return nil, fmt.Errorf("complaint statistics: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// ComplaintCopy is a complaint re-encrypted for a body it was redirected to.
type ComplaintCopy struct {
	Complaint  int64
	Body       string
	FromBody   string
	Ciphertext []byte // age file of the document's JSON
	Created    time.Time
	LogIndex   int64
}

// Redirect records, in one transaction, that from's copy of a complaint was
// redirected (ev), and delivers the re-encrypted copy to the new body with
// its own term. A body that already has the complaint is ECONFLICT.
func (db *DB) Redirect(ctx context.Context, ev *ComplaintEvent, cp *ComplaintCopy, due time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM complaint_bodies WHERE complaint = $1 AND body = $2`, cp.Complaint, cp.Body).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return qorgau.Errorf(ECONFLICT, "complaint %d was already sent to %s", cp.Complaint, cp.Body)
		}
		var state qorgau.ComplaintState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM complaint_bodies WHERE complaint = $1 AND body = $2`, ev.Complaint, ev.Body).Scan(&state); err != nil {
			return notFound(err, "complaint %d was not sent to %s", ev.Complaint, ev.Body)
		}
		if !state.CanBecome(qorgau.StateRedirected) {
			return qorgau.Errorf(ECONFLICT, "complaint %d is %s for %s and cannot be redirected", ev.Complaint, state, ev.Body)
		}
		ev.State, ev.Event = qorgau.StateRedirected, ""
		stmts := []struct {
			q    string
			args []any
		}{
			{`UPDATE complaint_bodies SET state = $1 WHERE complaint = $2 AND body = $3`, []any{string(qorgau.StateRedirected), ev.Complaint, ev.Body}},
			{`INSERT INTO complaint_events (` + eventColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, eventArgs(ev)},
			{`INSERT INTO complaint_copies (complaint, body, from_body, ciphertext, created_at, log_index) VALUES ($1, $2, $3, $4, $5, $6)`,
				[]any{cp.Complaint, cp.Body, cp.FromBody, cp.Ciphertext, cp.Created.UTC(), cp.LogIndex}},
			{`INSERT INTO complaint_bodies (complaint, body, state, delivered_at, due_at) VALUES ($1, $2, $3, $4, $5)`,
				[]any{cp.Complaint, cp.Body, string(qorgau.StateDelivered), cp.Created.UTC(), due.UTC()}},
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
				return fmt.Errorf("redirect complaint %d: %w", ev.Complaint, err)
			}
		}
		return nil
	})
}

// ComplaintCopyFor returns the re-encrypted copy of a complaint for a body
// it was redirected to, or ENOTFOUND if the body holds the original.
func (db *DB) ComplaintCopyFor(ctx context.Context, complaint int64, body string) (*ComplaintCopy, error) {
	var c ComplaintCopy
	err := db.r.QueryRowContext(ctx, `SELECT complaint, body, from_body, ciphertext, created_at, log_index FROM complaint_copies
		WHERE complaint = $1 AND body = $2`, complaint, body).Scan(&c.Complaint, &c.Body, &c.FromBody, &c.Ciphertext, &c.Created, &c.LogIndex)
	if err != nil {
		return nil, notFound(err, "no redirected copy of complaint %d for %s", complaint, body)
	}
	return &c, nil
}

// Coding is what a body records about a complaint after reading it.
type Coding struct {
	Complaint    int64
	Body         string
	Kind         qorgau.AppealKind
	Category     qorgau.Category
	Torture      bool
	ImminentRisk bool
	Zone         string
	Named        string // persons or units named, one per line
	// IncidentFrom and IncidentTo bound when the incident happened, as far
	// as the body could establish; zero where unknown.
	IncidentFrom time.Time
	IncidentTo   time.Time
	CodedBy      string
	CodedAt      time.Time
}

// Coding returns a body's coding of a complaint, or ENOTFOUND.
func (db *DB) Coding(ctx context.Context, complaint int64, body string) (*Coding, error) {
	var c Coding
	var from, to sql.NullTime
	err := db.r.QueryRowContext(ctx, `SELECT complaint, body, kind, category, torture, imminent_risk, zone, named, incident_from, incident_to, coded_by, coded_at
		FROM complaint_codings WHERE complaint = $1 AND body = $2`, complaint, body).
		Scan(&c.Complaint, &c.Body, &c.Kind, &c.Category, &c.Torture, &c.ImminentRisk, &c.Zone, &c.Named, &from, &to, &c.CodedBy, &c.CodedAt)
	if err != nil {
		return nil, notFound(err, "complaint %d has no coding by %s", complaint, body)
	}
	if from.Valid {
		c.IncidentFrom = from.Time.UTC()
	}
	if to.Valid {
		c.IncidentTo = to.Time.UTC()
	}
	return &c, nil
}

// SaveCoding stores a body's coding. It refuses (EFORBIDDEN) to clear a
// torture flag: that goes through RequestFlagClearing and a second member.
func (db *DB) SaveCoding(ctx context.Context, c *Coding, audit *qorgau.AuditRecord) error {
	if !c.IncidentFrom.IsZero() && !c.IncidentTo.IsZero() && c.IncidentTo.Before(c.IncidentFrom) {
		return qorgau.Errorf(EINVALID, "the incident's time window ends before it begins")
	}
	if c.IncidentFrom.After(c.CodedAt.Add(24*time.Hour)) || c.IncidentTo.After(c.CodedAt.Add(24*time.Hour)) {
		return qorgau.Errorf(EINVALID, "the incident's time window lies in the future")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var torture bool
		err := tx.QueryRowContext(ctx, `SELECT torture FROM complaint_codings WHERE complaint = $1 AND body = $2`, c.Complaint, c.Body).Scan(&torture)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if torture && !c.Torture {
			return qorgau.Errorf(qorgau.EFORBIDDEN, "clearing the torture or ill-treatment flag needs a reason and a second member's approval")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO complaint_codings (complaint, body, kind, category, torture, imminent_risk, zone, named, coded_by, coded_at, incident_from, incident_to)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (complaint, body) DO UPDATE SET kind = excluded.kind, category = excluded.category, torture = excluded.torture,
			imminent_risk = excluded.imminent_risk, zone = excluded.zone, named = excluded.named, coded_by = excluded.coded_by, coded_at = excluded.coded_at,
			incident_from = excluded.incident_from, incident_to = excluded.incident_to`,
			c.Complaint, c.Body, string(c.Kind), string(c.Category), c.Torture, c.ImminentRisk, c.Zone, c.Named, c.CodedBy, c.CodedAt.UTC(),
			nullTime(c.IncidentFrom), nullTime(c.IncidentTo)); err != nil {
			return fmt.Errorf("save coding: %w", err)
		}
		return db.appendAudit(ctx, tx, audit)
	})
}

// FlagClearing is a request to clear a torture flag.
type FlagClearing struct {
	Complaint   int64
	Body        string
	RequestedBy string
	Reason      string
	RequestedAt time.Time
}

// RequestFlagClearing records a member's request to clear the torture flag
// of a body's coding; it takes effect when another member approves it.
func (db *DB) RequestFlagClearing(ctx context.Context, f *FlagClearing, audit *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO torture_flag_clearings (complaint, body, requested_by, reason, requested_at) VALUES ($1, $2, $3, $4, $5)`,
			f.Complaint, f.Body, f.RequestedBy, f.Reason, f.RequestedAt.UTC()); err != nil {
			return fmt.Errorf("request flag clearing: %w", err)
		}
		return db.appendAudit(ctx, tx, audit)
	})
}

// PendingFlagClearing returns the open request to clear a complaint's
// torture flag for a body, or ENOTFOUND.
func (db *DB) PendingFlagClearing(ctx context.Context, complaint int64, body string) (*FlagClearing, error) {
	var f FlagClearing
	err := db.r.QueryRowContext(ctx, `SELECT complaint, body, requested_by, reason, requested_at FROM torture_flag_clearings
		WHERE complaint = $1 AND body = $2 AND approved_by IS NULL ORDER BY requested_at DESC LIMIT 1`, complaint, body).
		Scan(&f.Complaint, &f.Body, &f.RequestedBy, &f.Reason, &f.RequestedAt)
	if err != nil {
		return nil, notFound(err, "no pending request to clear the flag")
	}
	return &f, nil
}

// ApproveFlagClearing approves the pending request as approver, who must
// not be its requester (EFORBIDDEN), and clears the flag, in one
// transaction with audit.
func (db *DB) ApproveFlagClearing(ctx context.Context, complaint int64, body, approver string, at time.Time, audit *qorgau.AuditRecord) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var requester string
		var requested time.Time
		err := tx.QueryRowContext(ctx, `SELECT requested_by, requested_at FROM torture_flag_clearings
			WHERE complaint = $1 AND body = $2 AND approved_by IS NULL ORDER BY requested_at DESC LIMIT 1`, complaint, body).Scan(&requester, &requested)
		if err != nil {
			return notFound(err, "no pending request to clear the flag")
		}
		if requester == approver {
			return qorgau.Errorf(qorgau.EFORBIDDEN, "the second approval must come from another member")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE torture_flag_clearings SET approved_by = $1, approved_at = $2
			WHERE complaint = $3 AND body = $4 AND requested_at = $5`, approver, at.UTC(), complaint, body, requested); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE complaint_codings SET torture = FALSE WHERE complaint = $1 AND body = $2`, complaint, body); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, audit)
	})
}

// nullTime is NULL for the zero time and t in UTC otherwise.
func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}
