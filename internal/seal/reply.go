package seal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"filippo.io/age"

	"qorgau.kz/qorgau"
)

// MaxReplyText is the longest reply text, in bytes.
const MaxReplyText = 256 << 10

// maxReply bounds a sealed reply: the text as JSON, plus age's framing and
// a few hybrid stanzas.
const maxReply = 2*MaxReplyText + 64<<10

type replyDoc struct {
	V    int    `json:"v"`
	Text string `json:"text"`
}

// SealReply encrypts a body's answer to the complainant's reply recipient
// (from the complaint's Document.Reply) and to the body's own key, so that
// both sides can read it. The post-quantum rule of Seal applies. Empty or
// too long text, or no recipient, is an EINVALID error.
func SealReply(text string, to ...age.Recipient) ([]byte, error) {
	if strings.TrimSpace(text) == "" || len(text) > MaxReplyText || !utf8.ValidString(text) {
		return nil, qorgau.Errorf(qorgau.EINVALID, "a reply is UTF-8 text of 1 to %d bytes", MaxReplyText)
	}
	if len(to) == 0 {
		return nil, qorgau.Errorf(qorgau.EINVALID, "a reply needs at least one recipient")
	}
	for _, r := range to {
		if recipientString(r) == "" {
			return nil, qorgau.Errorf(qorgau.EINVALID, "reply recipient %T is neither an age X25519 nor a hybrid recipient", r)
		}
	}
	recipients, _ := recipientsFor(to)
	plain, err := json.Marshal(replyDoc{V: 1, Text: text})
	if err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	return buf.Bytes(), nil
}

// OpenReply decrypts a reply sealed by SealReply with the first of ids that
// can: the complainant's ReplyKey.Identities, or a body's keys. If none
// can, the error is ErrNoIdentity; a damaged reply is an EINVALID error.
func OpenReply(b []byte, ids ...age.Identity) (string, error) {
	if len(b) > maxReply {
		return "", qorgau.Errorf(qorgau.EINVALID, "a reply is at most %d bytes", maxReply)
	}
	r, err := age.Decrypt(bytes.NewReader(b), ids...)
	if err != nil {
		return "", ageError("reply", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return "", ageError("reply", err)
	}
	var d replyDoc
	if err := json.Unmarshal(plain, &d); err != nil || d.V != 1 {
		return "", qorgau.Errorf(qorgau.EINVALID, "reply is not a version 1 reply")
	}
	return d.Text, nil
}
