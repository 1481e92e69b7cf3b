// Package seal holds Qorgau's keys and the formats they protect: complaint
// envelopes, replies, member and body keys, receipt codes, and the signed
// directory of recipient bodies. It builds on filippo.io/age for encryption,
// Ed25519 for signatures, Argon2id for passphrases and receipt codes, and
// golang.org/x/mod/sumdb/note for the directory. It implements no primitive of
// its own.
//
// The kiosk agent and the server both import it; it imports only the root
// package and those libraries, never the store.
//
// # Envelopes
//
// A complaint is a [Document] encoded as JSON and encrypted with age to the
// current key of every body the person chose and, when the person keeps a
// receipt, to their reply key. The terminal signs the result with its Ed25519
// device key. The [Envelope] is the age file plus what the server must see to
// route and deduplicate it:
//
//	qorgau-envelope/v1
//	device T-0001
//	idempotency 01JQ6Y4Z3N7VJ1C2WQ9D8K5B0E
//	key 5d9c1f0a8e2b47c3a1f06d2e9b8c7a41
//	key 0b7e6a51c3d24f9e8a1b2c3d4e5f6a7b
//	sig dGhlIHNpZ25hdHVyZSBpcyA2NCBieXRlcyBvZiBFZDI1NTE5IGluIHJhdyBzdGFuZGFyZCBiYXNlNjQ
//	---
//	age-encryption.org/v1
//	…the rest of the age file, binary…
//
// The header is ASCII, one field per line, in this order: the device id and
// the client-chosen idempotency id (1–64 letters, digits, '.', '_', '-'),
// one key line per body key (its [KeyID], 32 lowercase hex digits, at most
// [MaxRecipients], no repeats), and the signature in unpadded standard
// base64. The age file follows the "---" line to the end of the input. The
// encoding is canonical: [ParseEnvelope] accepts exactly the bytes
// [Envelope.Marshal] produces, so an envelope has one encoding and one hash.
//
// The reply key is deliberately not listed: age stanzas are anonymous, so
// the server cannot tell which stanza belongs to the complainant, and the
// reply key is not a handle by which a follow-up could be linked to the
// complaint. The complainant's reply recipient and lookup id travel inside
// the encrypted document, for the bodies only.
//
// The signature is Ed25519 over the SHA-256 of the domain string
// "qorgau-envelope/v1 signature\n" followed by, each prefixed with its
// length as a big-endian uint64, the format version, the device id, the
// idempotency id, the number of key ids and each key id, and the SHA-256 of
// the age file. See [Envelope.Digest].
//
// A voice recording is part of the document: its bytes are a base64 string
// in the JSON, so one age file carries everything and one signature covers
// it. Base64 costs a third in size; the envelope limit, [DefaultMaxSize]
// (16 MiB) unless configured, still leaves about an hour of Opus speech.
//
// # Post-quantum keys
//
// A body key is either an age X25519 key or an age hybrid ML-KEM-768+X25519
// key. age refuses to encrypt one file to both kinds, because a classic
// recipient leaves the file open to a future quantum computer whatever else
// it is encrypted to. Seal follows the rule where it can: when every chosen
// body has a hybrid key, the reply key is hybrid too and the file is
// post-quantum. When the chosen bodies mix kinds, Seal still seals, because
// a complaint must never be refused for a key kind; it encrypts to the
// hybrid keys as if they were classic (the bypass age documents), and the
// file has the security of its classic recipients. A deployment that wants
// post-quantum complaints rotates every body to a hybrid key.
//
// Member keys are X25519 only, so a hybrid body key wrapped to a member is
// stored with classic security. The envelopes in transit are post-quantum;
// a copy of the database is not.
//
// # Keys at rest
//
// A member key is an age X25519 identity encrypted with XChaCha20-Poly1305
// under a key derived from the member's passphrase with Argon2id
// ([MemberKeyParams], a fresh salt per wrap). The wrap is text:
//
//	qorgau-member-key/v1
//	recipient age1…
//	argon2id m=65536,t=3,p=2 <salt, unpadded base64>
//	<nonce and sealed identity, unpadded base64>
//
// The first three lines, newlines included, are the associated data, so the
// parameters, the salt and the public key cannot be changed without the
// unwrap failing.
//
// A body key version is an age identity encrypted with age to each member's
// recipient ([WrapBodyKey]). Nobody holds a body key in clear: the command
// that creates one wraps it to the members and forgets it.
//
// # Receipt codes
//
// The kiosk shows a 16-digit receipt code. [DeriveReply] stretches it with
// Argon2id ([ReplyParams]) and a per-deployment salt into a seed, and splits
// the seed with HKDF-SHA256 into the complainant's reply identities (X25519
// and hybrid) and a lookup id. The kiosk recomputes them when the person
// types the code again; nothing derived from the code is stored, and
// without the code the server cannot link a follow-up to a complaint.
//
// # Directory
//
// The [Directory] of recipient bodies is a signed note (C2SP signed-note,
// golang.org/x/mod/sumdb/note) by the directory key, an Ed25519 key kept
// offline, whose public half terminals pin at enrolment. Its text:
//
//	qorgau-directory/v1
//	version 7
//	issued 2026-03-01T10:00:00Z
//	reply-salt <the deployment's reply salt, unpadded base64>
//	body PROS-35 prosecutor KZ-35 3 age1…
//	kk Қарағанды облысының прокуратурасы
//	ru Прокуратура Карагандинской области
//	en Karaganda Region Prosecutor's Office
//	body OMB ombudsman - 1 age1pq1…
//	…
//
// Bodies are sorted by code, each with its kind, its region ("-" for a
// national body), its current key version and recipient, and its names in
// Kazakh, Russian and English. A terminal rejects a directory not signed by
// the pinned key and one older than the version it has.
package seal
