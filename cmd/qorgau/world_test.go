package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// world is a data folder with a small registry, recipient bodies with keys
// (whose private halves the test keeps, standing in for the members), and
// enrolment tokens for its terminals: what a server needs to take
// complaints.
type world struct {
	dir    string
	bodyID map[string]age.Identity
	tokens map[string]string // device → enrolment token
	// totp holds the TOTP secret of each console user the world made.
	totp map[string]string
}

// Console users of the world, with their password.
const (
	worldPassword  = "correct-horse-battery-staple"
	worldMember    = "aigerim"         // member of PROS-KZ-35, holding its key
	worldOutsider  = "ombudsman-staff" // member of OMBUDSMAN
	worldColleague = "bolat"           // second member of PROS-KZ-35
)

func newWorld(t *testing.T, terminals int) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{dir: t.TempDir(), bodyID: map[string]age.Identity{}, tokens: map[string]string{}, totp: map[string]string{}}
	db, err := store.Open(ctx, filepath.Join(w.dir, "qorgau.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(db.SaveFacilities(ctx, []qorgau.Facility{{Code: "EC-166-1", Name: "Учреждение ЕЦ-166/1", Region: "KZ-35",
		Type: qorgau.ColonyMedium, Authority: "КУИС МВД РК", Capacity: 1000, Population: 900}}, nil))
	check(db.SaveZones(ctx, []qorgau.Zone{{Facility: "EC-166-1", Code: "B1", Name: "Отряд 1", Kind: qorgau.ZoneCellBlock}}, nil))
	var devs []qorgau.Device
	for i := 1; i <= terminals; i++ {
		devs = append(devs, qorgau.Device{ID: fmt.Sprintf("T-%d", i), Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Zone: "B1", Interval: 60})
	}
	check(db.SaveDevices(ctx, devs, nil))
	check(db.SaveBodies(ctx, []qorgau.Body{
		{Code: "PROS-KZ-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "Қарағанды облысының прокуратурасы", NameRU: "Прокуратура Карагандинской области", NameEN: "Karaganda Region Prosecutor's Office"},
		{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "ҰАТ", NameRU: "НПМ", NameEN: "NPM"},
		{Code: "OMBUDSMAN", Kind: qorgau.BodyOmbudsman, NameKK: "Уәкіл", NameRU: "Уполномоченный", NameEN: "Ombudsman"},
	}, nil))
	// Console users: members with TOTP and a member key wrapped with their
	// password, and an administrator.
	hash, err := auth.HashPassword(worldPassword, auth.Params{Memory: 1024, Time: 1, Threads: 1})
	check(err)
	members := map[string][]int64{}
	for _, u := range []*qorgau.User{
		{Name: worldMember, Role: qorgau.RoleMember, Body: "PROS-KZ-35"},
		{Name: worldColleague, Role: qorgau.RoleMember, Body: "PROS-KZ-35"},
		{Name: worldOutsider, Role: qorgau.RoleMember, Body: "OMBUDSMAN"},
		{Name: "admin", Role: qorgau.RoleAdmin},
	} {
		secret, err := auth.NewTOTPSecret("Qorgau", u.Name)
		check(err)
		u.PasswordHash, u.TOTPSecret = hash, secret
		check(db.CreateUser(ctx, u, nil))
		w.totp[u.Name] = secret
		if u.Role == qorgau.RoleMember {
			rcpt, wrapped, err := seal.NewMemberKey(worldPassword)
			check(err)
			check(db.SetMemberKey(ctx, u.ID, rcpt, wrapped, &qorgau.AuditRecord{Actor: "test", Action: qorgau.AuditMemberKeySet, Target: u.Name}))
			members[u.Body] = append(members[u.Body], u.ID)
		}
	}
	for _, code := range []string{"PROS-KZ-35", "NPM", "OMBUDSMAN"} {
		id, err := seal.NewBodyKey(false)
		check(err)
		rcpt := seal.RecipientOf(id)
		wraps := map[int64][]byte{}
		for _, uid := range members[code] {
			mk, err := db.MemberKey(ctx, uid)
			check(err)
			to, err := seal.ParseRecipient(mk.Recipient)
			check(err)
			wraps[uid], err = seal.WrapBodyKey(id, to)
			check(err)
		}
		check(db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: code,
			NewKey: &store.BodyKey{Recipient: rcpt, KeyID: seal.KeyID(rcpt)}, NewKeyWraps: wraps,
			Audit: []qorgau.AuditRecord{{Actor: "test", Action: qorgau.AuditBodyKeyCreated, Target: code}}}))
		w.bodyID[code] = id
	}
	for _, d := range devs {
		token, id := auth.NewToken()
		check(db.CreateEnrollmentToken(ctx, id, d.ID, time.Now().Add(time.Hour), nil))
		w.tokens[d.ID] = token
	}
	return w
}

// kioskTerminal is a test terminal: an enrolled client and what it pinned.
type kioskTerminal struct {
	*kiosk.Client
	enrol *kiosk.Enrollment
	dir   *seal.Directory
	salt  []byte
	// identity, if set, is the person named in what seal seals.
	identity *seal.Identity
}

// enroll enrols device against the server at base and fetches its directory.
func (w *world) enroll(t *testing.T, base, device string) *kioskTerminal {
	t.Helper()
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(nil)
	e, err := kiosk.Enroll(ctx, nil, base, w.tokens[device], priv)
	if err != nil {
		t.Fatal(err)
	}
	dk, _ := base64.StdEncoding.DecodeString(e.DirectoryKey)
	c := &kiosk.Client{Server: base, DeviceID: device, Key: priv, HTTP: &http.Client{Timeout: 30 * time.Second}}
	d, err := c.Directory(ctx, ed25519.PublicKey(dk), 0)
	if err != nil {
		t.Fatal(err)
	}
	salt, _ := base64.StdEncoding.DecodeString(e.ReplySalt)
	return &kioskTerminal{Client: c, enrol: e, dir: d, salt: salt}
}

// newCode makes a receipt code and derives its reply key with the
// terminal's salt, as the kiosk does for each complaint. Derivation costs
// an Argon2id run, so tests that need many envelopes use one code for all.
func (k *kioskTerminal) newCode(t testing.TB) (string, *seal.ReplyKey) {
	t.Helper()
	code := seal.NewReceiptCode()
	reply, err := seal.DeriveReply(code, k.salt)
	if err != nil {
		t.Fatal(err)
	}
	return code, reply
}

// prepared is a sealed complaint ready to send.
type prepared struct {
	envelope []byte
	routing  kiosk.Routing
	code     string
	idem     string
}

// seal writes and seals a complaint to bodies, as the kiosk does. reply
// derivation costs an Argon2id run, so tests that need many envelopes pass
// one code for all.
func (k *kioskTerminal) seal(t testing.TB, text string, category qorgau.Category, bodies []string, code string, reply *seal.ReplyKey, idem string) prepared {
	t.Helper()
	to, err := k.dir.Recipients(bodies...)
	if err != nil {
		t.Fatal(err)
	}
	doc := &seal.Document{V: seal.DocumentVersion, Kind: seal.KindComplaint, Category: string(category), Text: text, Lang: "ru",
		Facility: k.enrol.Facility, Bodies: bodies, Written: time.Now().UTC().Truncate(time.Second), Identity: k.identity}
	env, err := seal.Seal(doc, to, k.Key, k.DeviceID, idem, seal.Options{Reply: reply})
	if err != nil {
		t.Fatal(err)
	}
	return prepared{envelope: env.Marshal(), code: code, idem: idem,
		routing: kiosk.Routing{Bodies: bodies, Category: category, LookupID: reply.LookupID}}
}

// submit sends a prepared complaint and fails the test if it is refused.
func (k *kioskTerminal) submit(t testing.TB, p prepared) *kiosk.Submitted {
	t.Helper()
	res, err := k.Submit(context.Background(), p.envelope, p.routing)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
