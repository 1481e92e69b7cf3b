package tlog

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"

	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// A Receipt proves that an object is committed to by a leaf of the log.
//
// Its encoding is a C2SP tlog-proof (c2sp.org/tlog-proof@v1): the leaf
// index, the RFC 6962 inclusion proof and the signed checkpoint it leads to,
// with the spec's opaque extra data carrying what a verifier needs to
// rebuild the leaf from the object: the 32-byte salt followed by the leaf's
// record (see Record). Generic tlog-proof tools check the inclusion of the
// leaf; VerifyReceipt also checks that the leaf commits to the object.
//
//	c2sp.org/tlog-proof@v1
//	extra base64(salt || record)
//	index 41
//	base64(hash)            one line per proof hash, leaf's sibling first
//	…
//
//	qorgau.example/log      the signed checkpoint, verbatim
//	42
//	base64(root)
//
//	— qorgau.example/log base64(signature)
//
// The salt is a secret of whoever holds the receipt: with it and the
// object, anyone can confirm that the leaf is that object's.
type Receipt struct {
	Index      int64
	Salt       []byte // SaltSize bytes
	Record     []byte // the leaf's data, an encoded Record
	Proof      sumtlog.RecordProof
	Checkpoint []byte // signed note
}

// Marshal returns the receipt's tlog-proof encoding.
func (r *Receipt) Marshal() []byte {
	p := proof.TLogProof{
		Index:      uint64(r.Index),
		Checkpoint: r.Checkpoint,
		ExtraData:  append(append(make([]byte, 0, len(r.Salt)+len(r.Record)), r.Salt...), r.Record...),
	}
	p.Hashes = make([][32]byte, len(r.Proof))
	for i, h := range r.Proof {
		p.Hashes[i] = h
	}
	return p.Marshal()
}

var errReceipt = errors.New("malformed receipt")

// maxReceiptSize bounds what ParseReceipt reads: a proof has at most 63
// hashes, a record a few kilobytes, a checkpoint with cosignatures a few
// more.
const maxReceiptSize = 64 << 10

// ParseReceipt decodes a receipt. It accepts only the canonical encoding
// that Marshal produces, and checks the form of every part (the record
// parses, the salt has SaltSize bytes, the checkpoint parses), but not the
// signature or the proof: see Verify.
func ParseReceipt(data []byte) (*Receipt, error) {
	if len(data) > maxReceiptSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errReceipt, len(data), maxReceiptSize)
	}
	var p proof.TLogProof
	if err := p.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("%w: %v", errReceipt, err)
	}
	if p.Index > math.MaxInt64 {
		return nil, fmt.Errorf("%w: index out of range", errReceipt)
	}
	if len(p.Hashes) > 63 {
		return nil, fmt.Errorf("%w: %d proof hashes", errReceipt, len(p.Hashes))
	}
	if !bytes.Equal(p.Marshal(), data) {
		return nil, fmt.Errorf("%w: not in canonical form", errReceipt)
	}
	if len(p.ExtraData) < SaltSize {
		return nil, fmt.Errorf("%w: extra data must hold the %d-byte salt and the record", errReceipt, SaltSize)
	}
	r := &Receipt{
		Index:      int64(p.Index),
		Salt:       p.ExtraData[:SaltSize:SaltSize],
		Record:     p.ExtraData[SaltSize:],
		Checkpoint: p.Checkpoint,
		Proof:      make(sumtlog.RecordProof, len(p.Hashes)),
	}
	for i, h := range p.Hashes {
		r.Proof[i] = h
	}
	if _, err := ParseRecord(r.Record); err != nil {
		return nil, fmt.Errorf("%w: %v", errReceipt, err)
	}
	if _, err := parseSignedCheckpoint(r.Checkpoint); err != nil {
		return nil, fmt.Errorf("%w: %v", errReceipt, err)
	}
	return r, nil
}

// parseSignedCheckpoint parses the text of a signed checkpoint without
// checking its signatures.
func parseSignedCheckpoint(msg []byte) (Checkpoint, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, fmt.Errorf("%w: not a signed note", errCheckpoint)
	}
	return ParseCheckpoint(string(msg[:i+1]))
}

// VerifyReceipt parses receipt and checks it with Verify.
func VerifyReceipt(receipt, object []byte, v note.Verifier) error {
	r, err := ParseReceipt(receipt)
	if err != nil {
		return err
	}
	return r.Verify(object, v)
}

// Verify checks that r proves object is in the log whose key v is: the
// checkpoint is signed by v and names v's origin, the record commits to
// object under the salt, and the inclusion proof leads from the record's
// leaf hash to the checkpoint's root. It returns nil only if all hold.
//
// Verify does not check that the checkpoint is consistent with what others
// have seen of the log; witnesses and `qorgau verify` do that.
func (r *Receipt) Verify(object []byte, v note.Verifier) error {
	c, err := OpenCheckpoint(r.Checkpoint, v)
	if err != nil {
		return err
	}
	if r.Index < 0 || r.Index >= c.Size {
		return fmt.Errorf("receipt index %d is outside its checkpoint of size %d", r.Index, c.Size)
	}
	rec, err := ParseRecord(r.Record)
	if err != nil {
		return err
	}
	if len(r.Salt) != SaltSize {
		return fmt.Errorf("receipt salt is %d bytes, want %d", len(r.Salt), SaltSize)
	}
	commit := Commit(r.Salt, object)
	if subtle.ConstantTimeCompare(commit[:], rec.Commitment[:]) != 1 {
		return errors.New("the receipt's record does not commit to this object")
	}
	if err := sumtlog.CheckRecord(r.Proof, c.Size, c.Root, r.Index, sumtlog.RecordHash(r.Record)); err != nil {
		return fmt.Errorf("entry %d is not included in the receipt's checkpoint of size %d: %w", r.Index, c.Size, err)
	}
	return nil
}
