package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
)

func testDoc() *seal.Document {
	return &seal.Document{
		V:            seal.DocumentVersion,
		Kind:         seal.KindComplaint,
		Category:     "violence-staff",
		Text:         "Ночью 3 марта в коридоре второго этажа меня избили двое сотрудников.",
		Lang:         "ru",
		Facility:     "EC-166-1",
		Zone:         "B1",
		Place:        "коридор у лестницы",
		IncidentFrom: time.Date(2026, 3, 3, 22, 0, 0, 0, time.UTC),
		IncidentTo:   time.Date(2026, 3, 3, 23, 30, 0, 0, time.UTC),
		Bodies:       []string{"PROS-35", "NPM", "OMB"},
		Urgent:       true,
		Written:      time.Date(2026, 3, 4, 9, 15, 0, 0, time.UTC),
		Identity:     &seal.Identity{Name: "Ахметов Бауыржан", BirthDate: "1990", Detail: "отряд 5"},
		Voice:        &seal.Voice{Type: "audio/webm; codecs=opus", Data: []byte("OggS\x00\x02 not really opus")},
	}
}

func newDevice(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// bodyKeys returns n new body identities, hybrid where pq[i] is true.
func bodyKeys(t testing.TB, pq ...bool) ([]age.Identity, []age.Recipient) {
	t.Helper()
	var ids []age.Identity
	var rs []age.Recipient
	for _, p := range pq {
		id, err := seal.NewBodyKey(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := seal.ParseRecipient(seal.RecipientOf(id))
		if err != nil {
			t.Fatal(err)
		}
		ids, rs = append(ids, id), append(rs, r)
	}
	return ids, rs
}

var testSalt = []byte("a deployment salt of 32 bytes...")

func replyKey(t testing.TB, code string) *seal.ReplyKey {
	t.Helper()
	k, err := seal.DeriveReply(code, testSalt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// stanzaTypes returns the types of the recipient stanzas in an age header.
func stanzaTypes(ciphertext []byte) []string {
	hdr, _, _ := bytes.Cut(ciphertext, []byte("\n---"))
	var types []string
	for _, l := range strings.Split(string(hdr), "\n") {
		if rest, ok := strings.CutPrefix(l, "-> "); ok {
			types = append(types, strings.Fields(rest)[0])
		}
	}
	return types
}

func TestEnvelopeRoundTrip(t *testing.T) {
	devPub, dev := newDevice(t)
	reply := replyKey(t, "1234 5678 9012 3456")
	stranger, _ := bodyKeys(t, false)
	pqStranger, _ := bodyKeys(t, true)
	for _, tc := range []struct {
		name      string
		pq        []bool
		reply     bool
		wantTypes string // the stanza kinds in the age header
	}{
		{"one body", []bool{false}, false, "X25519"},
		{"three bodies and reply", []bool{false, false, false}, true, "X25519 X25519 X25519 X25519"},
		{"hybrid bodies and reply", []bool{true, true}, true, "mlkem768x25519 mlkem768x25519 mlkem768x25519"},
		{"mixed kinds fall back to classic", []bool{true, false}, true, "mlkem768x25519 X25519 X25519"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, to := bodyKeys(t, tc.pq...)
			opt := seal.Options{}
			if tc.reply {
				opt.Reply = reply
			}
			doc := testDoc()
			e, err := seal.Seal(doc, to, dev, "T-0001", "01JQ6Y4Z3N7VJ1C2WQ9D8K5B0E", opt)
			if err != nil {
				t.Fatalf("Seal = %v", err)
			}
			if doc.Reply != nil {
				t.Errorf("Seal changed the caller's document")
			}
			if got := strings.Join(stanzaTypes(e.Ciphertext), " "); got != tc.wantTypes {
				t.Errorf("age stanzas = %q, want %q", got, tc.wantTypes)
			}
			if len(e.KeyIDs) != len(to) {
				t.Errorf("KeyIDs = %v, want one per body key (the reply key unlisted)", e.KeyIDs)
			}
			for i, id := range ids {
				if want := seal.KeyID(seal.RecipientOf(id)); e.KeyIDs[i] != want {
					t.Errorf("KeyIDs[%d] = %s, want %s", i, e.KeyIDs[i], want)
				}
			}

			b := e.Marshal()
			got, err := seal.ParseEnvelope(b, 0)
			if err != nil {
				t.Fatalf("ParseEnvelope(Marshal()) = %v", err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Errorf("ParseEnvelope(Marshal()) = %+v, want %+v", got, e)
			}
			if err := got.Verify(devPub); err != nil {
				t.Errorf("Verify = %v", err)
			}

			want := testDoc()
			if tc.reply {
				pq := !slicesContain(tc.pq, false)
				want.Reply = &seal.ReplyTo{Recipient: seal.RecipientOf(reply.X25519), LookupID: reply.LookupID}
				if pq {
					want.Reply.Recipient = seal.RecipientOf(reply.Hybrid)
				}
			}
			for i, id := range ids {
				d, err := got.Open(id)
				if err != nil {
					t.Fatalf("Open with body key %d = %v", i, err)
				}
				if !reflect.DeepEqual(d, want) {
					t.Errorf("Open with body key %d = %+v, want %+v", i, d, want)
				}
			}
			d, err := got.Open(reply.Identities()...)
			switch {
			case tc.reply && err != nil:
				t.Errorf("Open with the reply key = %v", err)
			case tc.reply && !reflect.DeepEqual(d, want):
				t.Errorf("Open with the reply key = %+v, want %+v", d, want)
			case !tc.reply && !errors.Is(err, seal.ErrNoIdentity):
				t.Errorf("Open with a reply key it was not sealed to = %v, want ErrNoIdentity", err)
			}
			if _, err := got.Open(stranger[0], pqStranger[0]); !errors.Is(err, seal.ErrNoIdentity) {
				t.Errorf("Open with other keys = %v, want ErrNoIdentity", err)
			}
		})
	}
}

func slicesContain(s []bool, v bool) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestEnvelopeTampering(t *testing.T) {
	devPub, dev := newDevice(t)
	otherPub, _ := newDevice(t)
	ids, to := bodyKeys(t, false, false)
	e, err := seal.Seal(testDoc(), to, dev, "T-0001", "idem-1", seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, other := bodyKeys(t, false)
	for _, tc := range []struct {
		name     string
		change   func(e *seal.Envelope)
		openFail bool
	}{
		{"ciphertext byte", func(e *seal.Envelope) { e.Ciphertext[len(e.Ciphertext)-3] ^= 1 }, true},
		{"ciphertext header MAC", func(e *seal.Envelope) { e.Ciphertext[bytes.Index(e.Ciphertext, []byte("\n--- "))+8] ^= 1 }, true},
		{"signature", func(e *seal.Envelope) { e.Signature[5] ^= 1 }, false},
		{"device id", func(e *seal.Envelope) { e.DeviceID = "T-0002" }, false},
		{"idempotency id", func(e *seal.Envelope) { e.IdempotencyID = "idem-2" }, false},
		{"key ids reordered", func(e *seal.Envelope) { e.KeyIDs[0], e.KeyIDs[1] = e.KeyIDs[1], e.KeyIDs[0] }, false},
		{"key id dropped", func(e *seal.Envelope) { e.KeyIDs = e.KeyIDs[:1] }, false},
		{"key id added", func(e *seal.Envelope) {
			e.KeyIDs = append(e.KeyIDs, seal.KeyID(fmt.Sprint(other[0])))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := seal.ParseEnvelope(e.Marshal(), 0)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(c)
			// A changed envelope must still encode and parse, or the test
			// proves nothing about Verify.
			c, err = seal.ParseEnvelope(c.Marshal(), 0)
			if err != nil {
				t.Fatalf("ParseEnvelope after change = %v", err)
			}
			if err := c.Verify(devPub); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
				t.Errorf("Verify after change = %v, want EUNAUTHORIZED", err)
			}
			_, err = c.Open(ids[0])
			if tc.openFail && qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("Open after change = %v, want EINVALID", err)
			}
			if !tc.openFail && err != nil {
				t.Errorf("Open after a change outside the ciphertext = %v, want nil", err)
			}
		})
	}
	if err := e.Verify(otherPub); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("Verify with another device's key = %v, want EUNAUTHORIZED", err)
	}
	if err := e.Verify(devPub[:31]); qorgau.ErrorCode(err) != qorgau.EUNAUTHORIZED {
		t.Errorf("Verify with a short key = %v, want EUNAUTHORIZED", err)
	}
}

func TestEnvelopeSizeLimit(t *testing.T) {
	_, dev := newDevice(t)
	_, to := bodyKeys(t, false)
	big := testDoc()
	big.Voice.Data = bytes.Repeat([]byte{0xa5}, 13<<20) // 17.3 MiB as base64

	_, err := seal.Seal(big, to, dev, "T-1", "i-1", seal.Options{})
	if qorgau.ErrorCode(err) != qorgau.EINVALID || !strings.Contains(qorgau.ErrorMessage(err), "limit of 16777216 bytes (16 MiB)") {
		t.Errorf("Seal of a 17 MiB document = %v, want EINVALID naming the 16 MiB limit", err)
	}

	mid := testDoc()
	mid.Voice.Data = bytes.Repeat([]byte{0xa5}, 300<<10)
	_, err = seal.Seal(mid, to, dev, "T-1", "i-1", seal.Options{MaxSize: 256 << 10})
	if qorgau.ErrorCode(err) != qorgau.EINVALID || !strings.Contains(qorgau.ErrorMessage(err), "limit of 262144 bytes") {
		t.Errorf("Seal over a 256 KiB limit = %v, want EINVALID naming the limit", err)
	}
	e, err := seal.Seal(mid, to, dev, "T-1", "i-1", seal.Options{MaxSize: 1 << 20})
	if err != nil {
		t.Fatalf("Seal under a 1 MiB limit = %v", err)
	}
	b := e.Marshal()
	if _, err := seal.ParseEnvelope(b, len(b)); err != nil {
		t.Errorf("ParseEnvelope at exactly the limit = %v", err)
	}
	_, err = seal.ParseEnvelope(b, len(b)-1)
	if qorgau.ErrorCode(err) != qorgau.EINVALID || !strings.Contains(qorgau.ErrorMessage(err), fmt.Sprintf("limit of %d bytes", len(b)-1)) {
		t.Errorf("ParseEnvelope one byte over the limit = %v, want EINVALID naming the limit", err)
	}
}

func TestSealRejects(t *testing.T) {
	_, dev := newDevice(t)
	_, to := bodyKeys(t, false, false)
	scrypt, err := age.NewScryptRecipient("password")
	if err != nil {
		t.Fatal(err)
	}
	withReply := testDoc()
	withReply.Reply = &seal.ReplyTo{Recipient: seal.RecipientOf(replyKey(t, "0000000000000000").X25519), LookupID: strings.Repeat("a", 32)}
	for _, tc := range []struct {
		name   string
		doc    func(d *seal.Document)
		to     []age.Recipient
		dev    ed25519.PrivateKey
		device string
		idem   string
		preset *seal.Document
	}{
		{name: "no bodies", to: []age.Recipient{}},
		{name: "same body twice", to: []age.Recipient{to[0], to[0]}},
		{name: "not an X25519 or hybrid recipient", to: []age.Recipient{scrypt}},
		{name: "bad device id", device: "T 1"},
		{name: "empty idempotency id", idem: "-"},
		{name: "short device key", dev: dev[:32]},
		{name: "reply preset", preset: withReply},
		{name: "no text or voice", doc: func(d *seal.Document) { d.Text, d.Voice = " ", nil }},
		{name: "unknown kind", doc: func(d *seal.Document) { d.Kind = "letter" }},
		{name: "unknown category", doc: func(d *seal.Document) { d.Category = "food" }},
		{name: "bad language", doc: func(d *seal.Document) { d.Lang = "de" }},
		{name: "bad facility", doc: func(d *seal.Document) { d.Facility = "" }},
		{name: "incident ends first", doc: func(d *seal.Document) { d.IncidentTo = d.IncidentFrom.Add(-time.Hour) }},
		{name: "no bodies named", doc: func(d *seal.Document) { d.Bodies = nil }},
		{name: "body named twice", doc: func(d *seal.Document) { d.Bodies = []string{"NPM", "NPM"} }},
		{name: "no time", doc: func(d *seal.Document) { d.Written = time.Time{} }},
		{name: "nameless identity", doc: func(d *seal.Document) { d.Identity = &seal.Identity{BirthDate: "1990"} }},
		{name: "untyped voice", doc: func(d *seal.Document) { d.Voice.Type = "" }},
		{name: "wrong version", doc: func(d *seal.Document) { d.V = 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := testDoc()
			if tc.doc != nil {
				tc.doc(doc)
			}
			if tc.preset != nil {
				doc = tc.preset
			}
			r, d, device, idem := to, dev, "T-1", "idem-1"
			if tc.to != nil {
				r = tc.to
			}
			if tc.dev != nil {
				d = tc.dev
			}
			if tc.device != "" {
				device = tc.device
			}
			if tc.idem != "" {
				idem = tc.idem
			}
			if _, err := seal.Seal(doc, r, d, device, idem, seal.Options{}); qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("Seal = %v, want EINVALID", err)
			}
		})
	}
}

// validEnvelope returns a small, valid, marshalled envelope with two keys.
func validEnvelope(t testing.TB) []byte {
	t.Helper()
	_, dev := newDevice(t)
	_, to := bodyKeys(t, false, false)
	doc := testDoc()
	doc.Voice = nil
	e, err := seal.Seal(doc, to, dev, "T-0001", "idem-1", seal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e.Marshal()
}

func TestParseEnvelopeRejects(t *testing.T) {
	b := validEnvelope(t)
	head, body, _ := strings.Cut(string(b), "\n---\n")
	lines := strings.Split(head, "\n") // magic, device, idem, key, key, sig
	join := func(l ...string) []byte { return []byte(strings.Join(l, "\n") + "\n---\n" + body) }
	key := lines[3]
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"no header end", []byte(head)},
		{"other version", join(append([]string{"qorgau-envelope/v2"}, lines[1:]...)...)},
		{"carriage returns", []byte(strings.ReplaceAll(string(b[:len(head)]), "\n", "\r\n") + "\n---\n" + body)},
		{"fields out of order", join(lines[0], lines[2], lines[1], lines[3], lines[4], lines[5])},
		{"device id with a space", join(lines[0], "device T 1", lines[2], lines[3], lines[4], lines[5])},
		{"double space", join(lines[0], "device  T-1", lines[2], lines[3], lines[4], lines[5])},
		{"no keys", join(lines[0], lines[1], lines[2], lines[5])},
		{"key twice", join(lines[0], lines[1], lines[2], key, key, lines[5])},
		{"upper-case key", join(lines[0], lines[1], lines[2], strings.ToUpper(key), lines[4], lines[5])},
		{"short key", join(lines[0], lines[1], lines[2], key[:len(key)-1], lines[4], lines[5])},
		{"too many keys", join(append(append(lines[:3:3], manyKeys(seal.MaxRecipients+1)...), lines[5])...)},
		{"padded signature", join(lines[0], lines[1], lines[2], lines[3], lines[4], lines[5]+"==")},
		{"short signature", join(lines[0], lines[1], lines[2], lines[3], lines[4], lines[5][:len(lines[5])-4])},
		{"signature with a carriage return", join(lines[0], lines[1], lines[2], lines[3], lines[4], lines[5][:10]+"\r"+lines[5][10:])},
		{"no signature", join(lines[0], lines[1], lines[2], lines[3], lines[4])},
		{"trailing space", join(lines[0], lines[1]+" ", lines[2], lines[3], lines[4], lines[5])},
		{"not an age file", []byte(head + "\n---\nhello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := seal.ParseEnvelope(tc.b, 0); qorgau.ErrorCode(err) != qorgau.EINVALID {
				t.Errorf("ParseEnvelope = %v, want EINVALID", err)
			}
		})
	}
	if _, err := seal.ParseEnvelope(join(lines...), 0); err != nil {
		t.Errorf("ParseEnvelope of the unchanged envelope = %v (the cases above prove nothing)", err)
	}
	if _, err := seal.ParseEnvelope(join(append(append(lines[:3:3], manyKeys(seal.MaxRecipients)...), lines[5])...), 0); err != nil {
		t.Errorf("ParseEnvelope with %d keys = %v, want nil", seal.MaxRecipients, err)
	}
}

func manyKeys(n int) []string {
	var l []string
	for i := range n {
		l = append(l, "key "+seal.KeyID(fmt.Sprint(i)))
	}
	return l
}
