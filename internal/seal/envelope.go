package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/sig"
)

// EnvelopeVersion is the envelope format version this package reads and
// writes.
const EnvelopeVersion = 1

// DefaultMaxSize is the largest envelope accepted when no other limit is
// configured: 16 MiB.
const DefaultMaxSize = 16 << 20

const (
	envelopeMagic  = "qorgau-envelope/v1"
	envelopeDomain = "qorgau-envelope/v1 signature\n"
	ageMagic       = "age-encryption.org/v1\n"
	maxHeader      = 64 + 2*(13+64) + MaxRecipients*37 + 100 + 4
)

// Envelope is a sealed complaint as it travels from the kiosk to the server
// and as the server stores it. See the package comment for its encoding.
type Envelope struct {
	Version       int    // EnvelopeVersion
	DeviceID      string // the terminal that sealed and signed it
	IdempotencyID string // chosen by the terminal; a retry reuses it
	// KeyIDs are the KeyID of each body key the file is encrypted to, in
	// the order Seal was given them. The reply key is not listed.
	KeyIDs     []string
	Ciphertext []byte // the age file of the document's JSON
	Signature  []byte // Ed25519 by the device key over Digest
}

// Options tune Seal.
type Options struct {
	// MaxSize is the largest envelope Seal produces; DefaultMaxSize if 0.
	MaxSize int
	// Reply is the complainant's reply key, from DeriveReply. If set, the
	// file is also encrypted to it, so the person can read their complaint
	// back with the receipt code, and the document says where to reply.
	Reply *ReplyKey
}

// Seal encrypts doc to the body keys to (and opt.Reply), and signs the
// envelope with the terminal's device key. Every body recipient must be an
// age X25519 or hybrid recipient; for mixing the two see the package
// comment. An invalid document, id or recipient list, or an envelope larger
// than the size limit, is an EINVALID error.
func Seal(doc *Document, to []age.Recipient, device ed25519.PrivateKey, deviceID, idempotencyID string, opt Options) (*Envelope, error) {
	maxSize := opt.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if err := checkIDs(deviceID, idempotencyID); err != nil {
		return nil, err
	}
	if len(device) != ed25519.PrivateKeySize {
		return nil, qorgau.Errorf(qorgau.EINVALID, "device key is not an Ed25519 private key")
	}
	if len(to) == 0 || len(to) > MaxRecipients {
		return nil, qorgau.Errorf(qorgau.EINVALID, "a complaint goes to 1 to %d body keys", MaxRecipients)
	}
	e := &Envelope{Version: EnvelopeVersion, DeviceID: deviceID, IdempotencyID: idempotencyID}
	for _, r := range to {
		s := recipientString(r)
		if s == "" {
			return nil, qorgau.Errorf(qorgau.EINVALID, "body key %T is neither an age X25519 nor a hybrid recipient", r)
		}
		id := KeyID(s)
		for _, have := range e.KeyIDs {
			if have == id {
				return nil, qorgau.Errorf(qorgau.EINVALID, "body key %s is given twice", id)
			}
		}
		e.KeyIDs = append(e.KeyIDs, id)
	}

	if doc.Reply != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "the reply address is filled in by Seal from Options.Reply")
	}
	recipients, pq := recipientsFor(to)
	d := *doc
	if opt.Reply != nil {
		r := opt.Reply.Recipient(pq)
		d.Reply = &ReplyTo{Recipient: recipientString(r), LookupID: opt.Reply.LookupID}
		recipients = append(recipients, r)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("seal: encode document: %w", err)
	}
	if len(plain) > maxSize {
		return nil, tooLarge(len(plain), maxSize)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	e.Ciphertext = buf.Bytes()
	e.Signature = ed25519.Sign(device, e.Digest())
	if n := e.size(); n > maxSize {
		return nil, tooLarge(n, maxSize)
	}
	return e, nil
}

func tooLarge(n, limit int) error {
	return qorgau.Errorf(qorgau.EINVALID, "the sealed complaint is %d bytes, over the limit of %d bytes (%s)", n, limit, mib(limit))
}

func mib(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func checkIDs(deviceID, idempotencyID string) error {
	if !qorgau.ValidCode(deviceID) {
		return qorgau.Errorf(qorgau.EINVALID, "device id must be 1-64 letters, digits, '.', '_' or '-'")
	}
	if !qorgau.ValidCode(idempotencyID) {
		return qorgau.Errorf(qorgau.EINVALID, "idempotency id must be 1-64 letters, digits, '.', '_' or '-'")
	}
	return nil
}

// Digest returns the SHA-256 the device signs: the domain string, then the
// version, device id, idempotency id, key ids and SHA-256 of the
// ciphertext, each length-prefixed so that no two envelopes share a digest.
func (e *Envelope) Digest() []byte {
	h := sha256.New()
	h.Write([]byte(envelopeDomain))
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(e.Version))
	field(v[:])
	field([]byte(e.DeviceID))
	field([]byte(e.IdempotencyID))
	binary.BigEndian.PutUint64(v[:], uint64(len(e.KeyIDs)))
	field(v[:])
	for _, id := range e.KeyIDs {
		field([]byte(id))
	}
	ct := sha256.Sum256(e.Ciphertext)
	field(ct[:])
	return h.Sum(nil)
}

// Verify checks the envelope's signature with the public key of the device
// it names. A bad signature or key is an EUNAUTHORIZED error.
func (e *Envelope) Verify(devicePub ed25519.PublicKey) error {
	if len(devicePub) != ed25519.PublicKeySize {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "device key is not an Ed25519 public key")
	}
	if e.Version != EnvelopeVersion || !sig.Verify(devicePub, e.Digest(), e.Signature) {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "the envelope's signature does not verify with the key of device %s", e.DeviceID)
	}
	return nil
}

// Open decrypts the envelope with the first of ids that can, and decodes
// the document. It does not check the signature (the server does that on
// receipt, with Verify) and does not Validate the document. If none of ids
// opens it, the error is ErrNoIdentity; a damaged or altered ciphertext is
// an EINVALID error.
func (e *Envelope) Open(ids ...age.Identity) (*Document, error) {
	r, err := age.Decrypt(bytes.NewReader(e.Ciphertext), ids...)
	if err != nil {
		return nil, ageError("envelope", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, ageError("envelope", err)
	}
	var d Document
	if err := json.Unmarshal(plain, &d); err != nil {
		return nil, qorgau.Errorf(qorgau.EINVALID, "envelope does not hold a complaint document: %v", err)
	}
	if d.V != DocumentVersion {
		return nil, qorgau.Errorf(qorgau.EINVALID, "complaint document version %d is not supported", d.V)
	}
	return &d, nil
}

// Marshal returns the envelope's canonical encoding.
func (e *Envelope) Marshal() []byte {
	b := make([]byte, 0, e.size())
	b = append(b, envelopeMagic+"\ndevice "+e.DeviceID+"\nidempotency "+e.IdempotencyID+"\n"...)
	for _, id := range e.KeyIDs {
		b = append(b, "key "+id+"\n"...)
	}
	b = append(b, "sig "+base64.RawStdEncoding.EncodeToString(e.Signature)+"\n---\n"...)
	return append(b, e.Ciphertext...)
}

func (e *Envelope) size() int {
	n := len(envelopeMagic) + 1 + len("device \n") + len(e.DeviceID) + len("idempotency \n") + len(e.IdempotencyID)
	n += len(e.KeyIDs) * len("key 0123456789abcdef0123456789abcdef\n")
	n += len("sig \n---\n") + base64.RawStdEncoding.EncodedLen(len(e.Signature))
	return n + len(e.Ciphertext)
}

// ParseEnvelope decodes an envelope from outside: maxSize bounds its
// length (DefaultMaxSize if 0 or less). It accepts only the canonical
// encoding Marshal produces, so that an envelope has one hash, and it does
// not check the signature. A malformed or too large envelope is an EINVALID
// error; the one for size names the limit.
func ParseEnvelope(b []byte, maxSize int) (*Envelope, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(b) > maxSize {
		return nil, qorgau.Errorf(qorgau.EINVALID, "the envelope is %d bytes, over the limit of %d bytes (%s)", len(b), maxSize, mib(maxSize))
	}
	bad := func(format string, args ...any) error {
		return qorgau.Errorf(qorgau.EINVALID, "malformed envelope: "+format, args...)
	}
	end := bytes.Index(b[:min(len(b), maxHeader)], []byte("\n---\n"))
	if end < 0 {
		return nil, bad("no header end")
	}
	lines := strings.Split(string(b[:end]), "\n")
	e := &Envelope{Version: EnvelopeVersion, Ciphertext: bytes.Clone(b[end+len("\n---\n"):])}
	if len(lines) < 4 || lines[0] != envelopeMagic {
		return nil, bad("not a version %d envelope", EnvelopeVersion)
	}
	var ok bool
	if e.DeviceID, ok = strings.CutPrefix(lines[1], "device "); !ok {
		return nil, bad("device line missing")
	}
	if e.IdempotencyID, ok = strings.CutPrefix(lines[2], "idempotency "); !ok {
		return nil, bad("idempotency line missing")
	}
	if err := checkIDs(e.DeviceID, e.IdempotencyID); err != nil {
		return nil, err
	}
	for _, l := range lines[3 : len(lines)-1] {
		id, ok := strings.CutPrefix(l, "key ")
		if !ok || !isHex32(id) {
			return nil, bad("bad key line")
		}
		for _, have := range e.KeyIDs {
			if have == id {
				return nil, bad("key %s is listed twice", id)
			}
		}
		e.KeyIDs = append(e.KeyIDs, id)
	}
	if len(e.KeyIDs) == 0 || len(e.KeyIDs) > MaxRecipients {
		return nil, bad("it must list 1 to %d keys", MaxRecipients)
	}
	encoded, ok := strings.CutPrefix(lines[len(lines)-1], "sig ")
	if !ok {
		return nil, bad("signature line missing")
	}
	var err error
	e.Signature, err = base64.RawStdEncoding.Strict().DecodeString(encoded)
	if err != nil || len(e.Signature) != ed25519.SignatureSize || base64.RawStdEncoding.EncodeToString(e.Signature) != encoded {
		return nil, bad("bad signature encoding")
	}
	if !bytes.HasPrefix(e.Ciphertext, []byte(ageMagic)) {
		return nil, bad("the ciphertext is not an age file")
	}
	return e, nil
}

// Reseal encrypts an opened document anew to other recipients, as when a
// member redirects a complaint to the competent body: the result is an age
// file that Envelope{Ciphertext: …}.Open reads. It is not signed: the
// terminal's signature stays on the original envelope.
func Reseal(doc *Document, to ...age.Recipient) ([]byte, error) {
	if len(to) == 0 {
		return nil, qorgau.Errorf(qorgau.EINVALID, "resealing needs at least one recipient")
	}
	plain, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to...)
	if err != nil {
		return nil, ageError("reseal", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
