package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

const adminBodyUsage = `Usage: qorgau admin body <command> --body CODE [flags]

Commands:
  init --body CODE [--pq]        create the body's first key, wrapped to every
                                 member of the body who has a member key
  add-member --body CODE --user NAME [--grant-from MEMBER]
                                 give a member the body's key (see below)
  remove-member --body CODE --user NAME
                                 take every key of the body from a member and
                                 rotate, so that they read nothing sent later
  rotate-key --body CODE [--pq | --pq=false]
                                 replace the body's key; the kind stays the same
                                 unless --pq says otherwise
  keys --body CODE               list the key versions and who holds each
  webhook set CODE URL | remove CODE | show CODE
                                 where the body's notices are POSTed (signed)

A body's private key is never stored in clear and no administrator ever holds
it: it exists only wrapped (encrypted) to each member's own key, which only
the member's passphrase unlocks. So this command cannot copy an existing key
to a new member. add-member therefore ROTATES: it makes a new key, wrapped to
every current holder and to the new member, who can read what is sent from
now on. To also let the new member read what was sent before, a current
holder gives their passphrase with --grant-from MEMBER (typed at this
terminal without echo, or in QORGAU_GRANT_PASSPHRASE); the older keys that
member holds are then wrapped to the new member too.

Members without a member key, disabled users, and users who are no longer
members of the body are left out of new keys and named in the output.
--pq makes a post-quantum (ML-KEM-768 + X25519) key. Every command takes
-data DIR or -db URL like serve, and appends an audit record per change.
`

// runAdminBody runs `qorgau admin body …`: the keys of recipient bodies.
func runAdminBody(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(adminBodyUsage)
		if len(args) == 0 {
			return usageError("admin body: say init, add-member, remove-member, rotate-key or keys")
		}
		return nil
	}
	if args[0] == "webhook" {
		return runAdminBodyWebhook(ctx, args[1:])
	}
	verb := args[0]
	fs := newFlagSet("admin body "+verb, "Usage: qorgau admin body "+verb+" --body CODE [flags]\n\nSee qorgau admin body help.")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	body := fs.String("body", "", "recipient body code")
	var userName, grantFrom *string
	var pq *bool
	switch verb {
	case "init", "rotate-key":
		pq = fs.Bool("pq", false, "make a post-quantum hybrid key (ML-KEM-768 + X25519)")
	case "add-member", "remove-member":
		userName = fs.String("user", "", "the member's login name")
		if verb == "add-member" {
			grantFrom = fs.String("grant-from", "", "a current holder whose passphrase unlocks the older keys for the new member")
		}
	case "keys":
	default:
		fmt.Fprint(os.Stderr, adminBodyUsage)
		return usageError(fmt.Sprintf("admin body: unknown command %q", verb))
	}
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *body == "" {
		return usageError("admin body " + verb + ": --body is required")
	}
	if userName != nil && *userName == "" {
		return usageError("admin body " + verb + ": --user is required")
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Body(ctx, *body); err != nil {
		return plain(err)
	}
	k := &bodyKeys{db: db, body: *body, out: os.Stdout, actor: actor()}
	switch verb {
	case "init":
		return k.init(ctx, *pq)
	case "add-member":
		return k.addMember(ctx, *userName, *grantFrom)
	case "remove-member":
		return k.removeMember(ctx, *userName)
	case "rotate-key":
		return k.rotate(ctx, pqFlag(fs, *pq))
	}
	return k.list(ctx)
}

// pqFlag returns &v if --pq was given, nil to keep the current kind.
func pqFlag(fs *flag.FlagSet, v bool) *bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "pq" }) // parseFlags marks QORGAU_PQ as set too
	if !set {
		return nil
	}
	return &v
}

// bodyKeys changes the keys of one body.
type bodyKeys struct {
	db    *store.DB
	body  string
	out   io.Writer
	actor string
}

func (k *bodyKeys) audit(action, detail string) qorgau.AuditRecord {
	return qorgau.AuditRecord{Actor: k.actor, Action: action, Target: k.body, Detail: detail}
}

// eligible splits members into those who may hold a new key of the body
// and the rest, with the reason each is left out.
func (k *bodyKeys) eligible(members []store.BodyMember) (ok []store.BodyMember, left []string) {
	for _, m := range members {
		var why string
		switch {
		case m.Role != qorgau.RoleMember || m.Body != k.body:
			why = "no longer a member of " + k.body
		case m.Disabled:
			why = "disabled"
		case m.Recipient == "":
			why = "has no member key yet"
		}
		if why != "" {
			left = append(left, m.Name+" ("+why+")")
			continue
		}
		ok = append(ok, m)
	}
	return ok, left
}

// newKey makes a new body key, wraps it to every holder, and forgets it.
func newBodyKey(holders []store.BodyMember, pq bool) (*store.BodyKey, map[int64][]byte, error) {
	id, err := seal.NewBodyKey(pq)
	if err != nil {
		return nil, nil, err
	}
	wraps := make(map[int64][]byte, len(holders))
	for _, h := range holders {
		r, err := seal.ParseRecipient(h.Recipient)
		if err != nil {
			return nil, nil, fmt.Errorf("member key of %s: %w", h.Name, plain(err))
		}
		if wraps[h.ID], err = seal.WrapBodyKey(id, r); err != nil {
			return nil, nil, err
		}
	}
	recipient := seal.RecipientOf(id)
	return &store.BodyKey{KeyID: seal.KeyID(recipient), Recipient: recipient}, wraps, nil
}

func memberNames(ms []store.BodyMember) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name)
	}
	return strings.Join(s, ",")
}

func keyKind(recipient string) string {
	if seal.IsPostQuantum(recipient) {
		return "post-quantum"
	}
	return "X25519"
}

func (k *bodyKeys) report(key *store.BodyKey, holders []store.BodyMember, left []string) {
	fmt.Fprintf(k.out, "%s: key version %d (%s, id %s) wrapped to %d member(s): %s\n",
		k.body, key.Version, keyKind(key.Recipient), key.KeyID, len(holders), strings.ReplaceAll(memberNames(holders), ",", ", "))
	if len(left) > 0 {
		fmt.Fprintf(k.out, "left out: %s\n", strings.Join(left, ", "))
	}
}

func (k *bodyKeys) init(ctx context.Context, pq bool) error {
	if cur, err := k.db.CurrentBodyKey(ctx, k.body); err == nil {
		return fmt.Errorf("%s already has key version %d; use rotate-key or add-member", k.body, cur.Version)
	} else if qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		return err
	}
	members, err := k.db.BodyMembers(ctx, k.body)
	if err != nil {
		return err
	}
	holders, left := k.eligible(members)
	if len(holders) == 0 {
		return fmt.Errorf("no member of %s can hold a key yet%s", k.body, leftOutSuffix(left))
	}
	key, wraps, err := newBodyKey(holders, pq)
	if err != nil {
		return err
	}
	ch := &store.BodyKeyChange{Body: k.body, NewKey: key, NewKeyWraps: wraps, Audit: []qorgau.AuditRecord{
		k.audit(qorgau.AuditBodyKeyCreated, fmt.Sprintf("kind=%s key=%s holders=%s", keyKind(key.Recipient), key.KeyID, memberNames(holders))),
	}}
	if err := k.db.ChangeBodyKeys(ctx, ch); err != nil {
		return plain(err)
	}
	k.report(key, holders, left)
	return nil
}

func leftOutSuffix(left []string) string {
	if len(left) == 0 {
		return ": the body has no members"
	}
	return ": " + strings.Join(left, ", ")
}

// current returns the body's current key and its holders who may hold the
// next one, with the rest named.
func (k *bodyKeys) current(ctx context.Context) (*store.BodyKey, []store.BodyMember, []string, error) {
	cur, err := k.db.CurrentBodyKey(ctx, k.body)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		return nil, nil, nil, fmt.Errorf("%s has no key; create one with: qorgau admin body init --body %s", k.body, k.body)
	} else if err != nil {
		return nil, nil, nil, err
	}
	holders, err := k.db.BodyKeyHolders(ctx, k.body, cur.Version)
	if err != nil {
		return nil, nil, nil, err
	}
	ok, left := k.eligible(holders)
	return cur, ok, left, nil
}

func (k *bodyKeys) rotate(ctx context.Context, pq *bool) error {
	cur, holders, left, err := k.current(ctx)
	if err != nil {
		return err
	}
	if len(holders) == 0 {
		return fmt.Errorf("no holder of %s's key can hold a new one%s", k.body, leftOutSuffix(left))
	}
	want := seal.IsPostQuantum(cur.Recipient)
	if pq != nil {
		want = *pq
	}
	key, wraps, err := newBodyKey(holders, want)
	if err != nil {
		return err
	}
	if err := k.db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: k.body, NewKey: key, NewKeyWraps: wraps, Audit: []qorgau.AuditRecord{
		k.audit(qorgau.AuditBodyKeyRotated, fmt.Sprintf("from=%d kind=%s key=%s holders=%s", cur.Version, keyKind(key.Recipient), key.KeyID, memberNames(holders))),
	}}); err != nil {
		return plain(err)
	}
	k.report(key, holders, left)
	return nil
}

func (k *bodyKeys) addMember(ctx context.Context, name, grantFrom string) error {
	u, err := k.db.UserByName(ctx, name)
	if err != nil {
		return plain(err)
	}
	switch {
	case u.Role != qorgau.RoleMember || u.Body != k.body:
		return fmt.Errorf("%s is not a member of %s (role %s, body %s); change the account first", u.Name, k.body, u.Role, dash(u.Body))
	case u.Disabled:
		return fmt.Errorf("%s is disabled", u.Name)
	}
	mk, err := k.db.MemberKey(ctx, u.ID)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		return fmt.Errorf("%s has no member key yet: it is made when they set their own password", u.Name)
	} else if err != nil {
		return err
	}
	cur, holders, left, err := k.current(ctx)
	if err != nil {
		return err
	}
	member := store.BodyMember{User: *u, Recipient: mk.Recipient}
	rotate := !slices.ContainsFunc(holders, func(h store.BodyMember) bool { return h.ID == u.ID })

	// Unlock the older keys first, so that a wrong passphrase changes nothing.
	var grants []store.BodyKeyWrap
	var granted []string
	if grantFrom != "" {
		if grants, granted, err = k.grants(ctx, grantFrom, member); err != nil {
			return err
		}
	}
	ch := &store.BodyKeyChange{Body: k.body, Grants: grants}
	var key *store.BodyKey
	if rotate {
		holders = append(holders, member)
		var wraps map[int64][]byte
		if key, wraps, err = newBodyKey(holders, seal.IsPostQuantum(cur.Recipient)); err != nil {
			return err
		}
		ch.NewKey, ch.NewKeyWraps = key, wraps
		ch.Audit = append(ch.Audit,
			k.audit(qorgau.AuditBodyMemberAdded, "user="+u.Name),
			k.audit(qorgau.AuditBodyKeyRotated, fmt.Sprintf("from=%d kind=%s key=%s holders=%s", cur.Version, keyKind(key.Recipient), key.KeyID, memberNames(holders))))
	}
	if len(grants) > 0 {
		ch.Audit = append(ch.Audit, k.audit(qorgau.AuditBodyKeyGranted, fmt.Sprintf("user=%s versions=%s from=%s", u.Name, strings.Join(granted, ","), grantFrom)))
	}
	if len(ch.Audit) == 0 {
		fmt.Fprintf(k.out, "%s already holds key version %d of %s; nothing to do\n", u.Name, cur.Version, k.body)
		return nil
	}
	if err := k.db.ChangeBodyKeys(ctx, ch); err != nil {
		return plain(err)
	}
	if key != nil {
		k.report(key, holders, left)
		fmt.Fprintf(k.out, "%s reads what is sent to %s from now on\n", u.Name, k.body)
	}
	if len(grants) > 0 {
		fmt.Fprintf(k.out, "%s also received older key version(s) %s from %s\n", u.Name, strings.Join(granted, ", "), grantFrom)
	} else if key != nil {
		fmt.Fprintf(k.out, "older complaints stay closed to %s; to open them, run again with --grant-from MEMBER\n", u.Name)
	}
	return nil
}

// grants unlocks the keys of the body that member from holds, with their
// passphrase, and wraps those the new member lacks to the new member.
func (k *bodyKeys) grants(ctx context.Context, from string, to store.BodyMember) ([]store.BodyKeyWrap, []string, error) {
	g, err := k.db.UserByName(ctx, from)
	if err != nil {
		return nil, nil, plain(err)
	}
	gk, err := k.db.MemberKey(ctx, g.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s cannot grant: %v", g.Name, qorgau.ErrorMessage(err))
	}
	held, err := k.db.BodyKeyWraps(ctx, g.ID, k.body)
	if err != nil {
		return nil, nil, err
	}
	if len(held) == 0 {
		return nil, nil, fmt.Errorf("%s holds no key of %s to grant", g.Name, k.body)
	}
	has, err := k.db.BodyKeyWraps(ctx, to.ID, k.body)
	if err != nil {
		return nil, nil, err
	}
	pass, err := grantPassphrase(g.Name)
	if err != nil {
		return nil, nil, err
	}
	id, err := seal.UnwrapMemberKey(gk.Wrapped, pass)
	if err != nil {
		return nil, nil, fmt.Errorf("%s's member key: %s", g.Name, qorgau.ErrorMessage(err))
	}
	r, err := seal.ParseRecipient(to.Recipient)
	if err != nil {
		return nil, nil, fmt.Errorf("member key of %s: %w", to.Name, plain(err))
	}
	var grants []store.BodyKeyWrap
	var versions []string
	for _, w := range held {
		if slices.ContainsFunc(has, func(h store.BodyKeyWrap) bool { return h.Version == w.Version }) {
			continue
		}
		bodyID, err := seal.UnwrapBodyKey(w.Wrapped, w.Recipient, id)
		if err != nil {
			return nil, nil, fmt.Errorf("key version %d held by %s: %s", w.Version, g.Name, qorgau.ErrorMessage(err))
		}
		wrapped, err := seal.WrapBodyKey(bodyID, r)
		if err != nil {
			return nil, nil, err
		}
		grants = append(grants, store.BodyKeyWrap{Body: k.body, Version: w.Version, UserID: to.ID, Wrapped: wrapped})
		versions = append(versions, strconv.Itoa(w.Version))
	}
	slices.Reverse(versions) // oldest first
	return grants, versions, nil
}

// grantPassphrase reads a member's passphrase from QORGAU_GRANT_PASSPHRASE
// or, without echo, from the terminal.
func grantPassphrase(name string) (string, error) {
	if p, ok := os.LookupEnv("QORGAU_GRANT_PASSPHRASE"); ok {
		return p, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("--grant-from needs the member to type their passphrase at a terminal (or QORGAU_GRANT_PASSPHRASE)")
	}
	fmt.Fprintf(os.Stderr, "%s, type your passphrase (it is not shown): ", name)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("read passphrase: %w", err)
	}
	return string(b), nil
}

func (k *bodyKeys) removeMember(ctx context.Context, name string) error {
	u, err := k.db.UserByName(ctx, name)
	if err != nil {
		return plain(err)
	}
	held, err := k.db.BodyKeyWraps(ctx, u.ID, k.body)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		return fmt.Errorf("%s holds no key of %s", u.Name, k.body)
	}
	ch := &store.BodyKeyChange{Body: k.body, Revoke: []int64{u.ID}, Audit: []qorgau.AuditRecord{
		k.audit(qorgau.AuditBodyMemberRemoved, fmt.Sprintf("user=%s wraps=%d", u.Name, len(held))),
	}}
	var key *store.BodyKey
	var holders []store.BodyMember
	var left []string
	cur, err := k.db.CurrentBodyKey(ctx, k.body)
	switch {
	case qorgau.ErrorCode(err) == qorgau.ENOTFOUND:
		// Only old keys: take them away, there is nothing to rotate.
	case err != nil:
		return err
	default:
		if _, holders, left, err = k.current(ctx); err != nil {
			return err
		}
		holders = slices.DeleteFunc(holders, func(h store.BodyMember) bool { return h.ID == u.ID })
		if len(holders) == 0 {
			ch.RetireCurrent = true
			ch.Audit = append(ch.Audit, k.audit(qorgau.AuditBodyKeyRetired, fmt.Sprintf("version=%d no holders left", cur.Version)))
			break
		}
		var wraps map[int64][]byte
		if key, wraps, err = newBodyKey(holders, seal.IsPostQuantum(cur.Recipient)); err != nil {
			return err
		}
		ch.NewKey, ch.NewKeyWraps = key, wraps
		ch.Audit = append(ch.Audit, k.audit(qorgau.AuditBodyKeyRotated,
			fmt.Sprintf("from=%d kind=%s key=%s holders=%s", cur.Version, keyKind(key.Recipient), key.KeyID, memberNames(holders))))
	}
	if err := k.db.ChangeBodyKeys(ctx, ch); err != nil {
		return plain(err)
	}
	fmt.Fprintf(k.out, "%s: removed %d key wrap(s) of %s\n", k.body, len(held), u.Name)
	if ch.RetireCurrent {
		fmt.Fprintf(k.out, "%s has no key holder left: key version %d is retired and the body receives nothing until\n  qorgau admin body init --body %s\n", k.body, cur.Version, k.body)
		return nil
	}
	if key != nil {
		k.report(key, holders, left)
	}
	return nil
}

func (k *bodyKeys) list(ctx context.Context) error {
	keys, err := k.db.BodyKeys(ctx, k.body)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintf(k.out, "%s has no keys; create one with: qorgau admin body init --body %s\n", k.body, k.body)
		return nil
	}
	w := tabwriter.NewWriter(k.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tKIND\tKEY ID\tCREATED\tRETIRED\tHOLDERS")
	for _, key := range keys {
		retired := "current"
		if !key.Current() {
			retired = key.RetiredAt.Format("2006-01-02 15:04Z")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", key.Version, keyKind(key.Recipient), key.KeyID,
			key.CreatedAt.Format("2006-01-02 15:04Z"), retired, dash(strings.Join(key.Holders, ", ")))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !keys[0].Current() {
		fmt.Fprintf(k.out, "%s has no current key and receives nothing\n", k.body)
		return nil
	}
	members, err := k.db.BodyMembers(ctx, k.body)
	if err != nil {
		return err
	}
	var without []string
	for _, m := range members {
		if !slices.Contains(keys[0].Holders, m.Name) {
			without = append(without, m.Name)
		}
	}
	if len(without) > 0 {
		fmt.Fprintf(k.out, "members without the current key: %s\n", strings.Join(without, ", "))
	}
	return nil
}
