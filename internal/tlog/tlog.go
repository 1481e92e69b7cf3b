// Package tlog is Qorgau's complaint log: an append-only Merkle tree
// (RFC 6962, built on golang.org/x/mod/sumdb/tlog) with signed checkpoints
// (C2SP tlog-checkpoint, signed-note), kept in the store's database and
// served read-only as C2SP tlog-tiles.
//
// # Leaves are commitments
//
// Each leaf is a Record: a kind ("complaint", "status", "evidence", …), the
// SHA-256 of a fresh 32-byte random salt followed by the object (an
// encrypted complaint envelope, a status event, an evidence manifest), and
// the coarse metadata that policy makes public. The object and its salt are
// kept next to the tree, not in it: Erase removes them and leaves the tree
// and every proof intact. The salt travels in the Receipt.
//
// # Appending
//
// Append hands an entry to the sequencer (Run) and waits. The sequencer
// takes every waiting entry (there is no batching timer: a batch is
// whatever arrived while the previous one was being written), looks up in
// the database those whose idempotency ids may already be in the log (an
// in-memory filter of the log's ids rules out nearly all), assigns
// indexes and computes the new stored hashes from the tree's right edge
// that it keeps in memory, while the previous batch is being written. When
// the writer is free it writes leaves (with their objects) and hashes in
// one transaction, together with the previous batch's checkpoint: one
// fsync per batch, a row per entry and a few per batch. Only after the
// commit does it sign the checkpoint of the new size, so the key never
// signs a root of data that might not exist, nor two roots for one size;
// the checkpoint is stored with the next batch, or on its own after a
// moment when none follows. Append then returns a receipt at once, whose
// inclusion proof comes from the batch's hashes in memory. An idempotency
// id makes retries exactly-once: the same id with the same content returns
// the entry's index again, never a second leaf, also after a restart; the
// same id with other content is an ECONFLICT error.
//
// # Never rolled back, never forked
//
// Open recomputes every leaf hash from the stored records, rebuilds the
// tree, compares it with every stored hash and with the root of every stored
// checkpoint, and checks the latest checkpoint's signature; any difference
// stops the log with an error that says where. (A million entries take
// about 2.5 s on SQLite and 3 s on PostgreSQL on a 2-core machine; Open
// logs the time.) Leaves beyond the latest stored checkpoint are accepted
// if they are one batch, whose checkpoint had been signed but not yet
// stored: Open signs it again, and as the note is the origin, size and
// root of committed data, signed with Ed25519 (deterministic), it is the
// very note the batch's receipts carry. The log signs at most one root
// per size and only ever extends the tree it verified. Restoring the database from an old backup would silently
// roll the log back; to catch that, the latest checkpoint is also kept in a
// small state file outside the database (Config.StateFile) and Open refuses
// a database that is behind the state file or disagrees with it. The file
// is replaced atomically (temporary file, fsync, rename, fsync of the
// folder) by a goroutine of its own as soon as a commit publishes a new
// checkpoint, so it is never ahead of the database and at most a moment
// behind; a crash leaves the old or the new file, both consistent with the
// database. Witnesses (internal/witness) catch the rest.
package tlog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
)

// Config configures a Log.
type Config struct {
	// Origin is the checkpoint origin line, the log's name: a URL prefix of
	// the log without scheme or trailing slash, such as
	// "qorgau.example/log". It must be the name of the signing key.
	Origin string
	// Signer signs checkpoints. Its name must be Origin.
	Signer note.Signer
	// VerifierKey is the signed-note verifier key of Signer, served at
	// /log/key and used to check stored checkpoints.
	VerifierKey string
	// StateFile, if set, is a file outside the database where the latest
	// checkpoint is kept so that Open can tell a database restored from an
	// old backup (see the package documentation). Leave it empty only when
	// the database cannot be restored behind the log's back.
	StateFile string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of salts; nil means crypto/rand.
	Rand io.Reader
	// Logger receives the log's few messages; nil discards them.
	Logger *slog.Logger
	// Standby opens the log as a standby, for a server that runs Lead
	// rather than Run: Append refuses (EUNAVAILABLE) until Lead makes
	// this server the sequencer.
	Standby bool
}

// Limits of an entry.
const (
	// MaxObjectSize is the largest object Append accepts.
	MaxObjectSize = 16 << 20
	// MaxIdempotencyID is the longest idempotency id.
	MaxIdempotencyID = 128
	// maxBatch bounds how many entries one transaction carries, and
	// maxBatchBytes their objects' total size.
	maxBatch      = 4096
	maxBatchBytes = 64 << 20
)

// A Log is the complaint log over a store. Create it with Open, run its
// sequencer with Run, and append with Append.
type Log struct {
	db        *store.DB
	origin    string
	signer    note.Signer
	verifier  note.Verifier
	vkey      string
	stateFile string
	now       func() time.Time
	rand      io.Reader
	log       *slog.Logger

	queue   chan *request
	running atomic.Bool
	standby atomic.Bool   // see Lead
	stopped chan struct{} // closed when Run returns

	// tree is the sequencer's view of the tree: the size it has prepared
	// batches up to and the hashes of its complete subtrees. Only Open
	// and Run's goroutine touch it, and epoch and sent.
	tree  *frontier
	epoch int64 // incremented when the tree is reloaded after a failure
	sent  int64 // batches handed to the writer
	// ids holds every idempotency id in the log (and more), added when
	// its leaf is prepared; idsFrom is the size of the log when the
	// filter was last brought up to date with the database.
	ids     *idFilter
	idsFrom int64

	mu sync.Mutex
	// inflight holds the first request of every idempotency id being
	// prepared or written.
	inflight map[string]*request
	// pub is the latest committed checkpoint, what readers see.
	pub atomic.Pointer[published]
	// stateSaved is the size of the checkpoint in StateFile.
	stateSaved atomic.Int64

	handlerOnce sync.Once
	handler     http.Handler
}

// published is a committed, signed checkpoint.
type published struct {
	size int64
	root sumtlog.Hash
	note []byte
}

// GenerateKey returns a new Ed25519 signed-note key pair for a log with the
// given origin: skey signs (keep it secret), vkey verifies.
func GenerateKey(origin string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, origin)
}

// NewSigner returns the signer for the secret key skey, as GenerateKey
// makes, and its verifier key.
func NewSigner(skey string) (note.Signer, string, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("log signing key: %w", err)
	}
	// PRIVATE+KEY+name+hash+base64(alg || seed): note does not derive the
	// verifier key, so do it here for Ed25519, the only algorithm it signs.
	key64 := skey
	for range 4 {
		_, key64, _ = strings.Cut(key64, "+")
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return nil, "", errors.New("log signing key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, "", fmt.Errorf("log signing key: %w", err)
	}
	return s, vkey, nil
}

// Open opens the log kept in db, which must be migrated, and verifies it
// completely (see the package documentation); on an empty database it
// signs and stores the checkpoint of the empty tree. It logs how long the
// verification took. Any inconsistency is an error that says what is wrong;
// the log must then not be started.
func Open(ctx context.Context, db *store.DB, cfg Config) (*Log, error) {
	if cfg.Signer == nil {
		return nil, errors.New("log: no signer")
	}
	v, err := note.NewVerifier(cfg.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("log: verifier key: %w", err)
	}
	switch {
	case cfg.Origin == "":
		return nil, errors.New("log: no origin")
	case cfg.Signer.Name() != cfg.Origin || v.Name() != cfg.Origin:
		return nil, fmt.Errorf("log: origin %q, but the signing key is named %q and the verifier key %q", cfg.Origin, cfg.Signer.Name(), v.Name())
	case cfg.Signer.KeyHash() != v.KeyHash():
		return nil, errors.New("log: the verifier key is not the signing key's")
	}
	l := &Log{
		db:        db,
		origin:    cfg.Origin,
		signer:    cfg.Signer,
		verifier:  v,
		vkey:      cfg.VerifierKey,
		stateFile: cfg.StateFile,
		now:       cfg.Now,
		rand:      cfg.Rand,
		log:       cfg.Logger,
		queue:     make(chan *request, maxBatch),
		inflight:  make(map[string]*request),
		stopped:   make(chan struct{}),
	}
	l.stateSaved.Store(-1)
	l.standby.Store(cfg.Standby)
	if l.now == nil {
		l.now = time.Now
	}
	if l.rand == nil {
		l.rand = rand.Reader
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if err := l.verify(ctx, !cfg.Standby); err != nil {
		return nil, err
	}
	if err := l.checkStateFile(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Origin returns the log's origin line.
func (l *Log) Origin() string { return l.origin }

// VerifierKey returns the signed-note verifier key of the log.
func (l *Log) VerifierKey() string { return l.vkey }

// Verifier returns the verifier of the log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Checkpoint returns the latest published checkpoint, a signed note. It is
// never nil after Open.
func (l *Log) Checkpoint() []byte { return l.pub.Load().note }

// Size returns the size of the latest published checkpoint.
func (l *Log) Size() int64 { return l.pub.Load().size }

// ErrErased is in the chain of the error returned for an entry whose object
// was erased (with code ENOTFOUND).
var ErrErased = errors.New("log entry erased")

// Receipt returns a receipt for the entry at index against the latest
// checkpoint. An index the checkpoint does not cover is an ENOTFOUND
// error, and so is an erased entry (with ErrErased in the chain): its salt
// is gone, and the receipts issued before remain the proof.
func (l *Log) Receipt(ctx context.Context, index int64) (*Receipt, error) {
	p := l.pub.Load()
	if index < 0 || index >= p.size {
		return nil, qorgau.Errorf(qorgau.ENOTFOUND, "log entry %d not found", index)
	}
	leaf, err := l.db.LogLeaf(ctx, index)
	if err != nil {
		return nil, err
	}
	if leaf.Salt == nil {
		return nil, erasedError(index)
	}
	proof, err := sumtlog.ProveRecord(p.size, index, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("prove log entry %d: %w", index, err)
	}
	return &Receipt{Index: index, Salt: leaf.Salt, Record: leaf.Entry, Proof: proof, Checkpoint: p.note}, nil
}

func erasedError(index int64) error {
	return fmt.Errorf("%w: %w", ErrErased, qorgau.Errorf(qorgau.ENOTFOUND, "log entry %d was erased", index))
}

// Object returns the salt and the object that the entry at index commits
// to. An index beyond the latest checkpoint is an ENOTFOUND error, and so
// is an erased entry, with ErrErased in the chain.
func (l *Log) Object(ctx context.Context, index int64) (salt, object []byte, err error) {
	if index < 0 || index >= l.pub.Load().size {
		return nil, nil, qorgau.Errorf(qorgau.ENOTFOUND, "log entry %d not found", index)
	}
	leaf, err := l.db.LogLeaf(ctx, index)
	if err != nil {
		return nil, nil, err
	}
	if leaf.Salt == nil {
		return nil, nil, erasedError(index)
	}
	if leaf.Object == nil {
		leaf.Object = []byte{}
	}
	return leaf.Salt, leaf.Object, nil
}

// Erase deletes the object and salt of the entry at index, for good: the
// leaf stays, so the tree, the checkpoints and every receipt already issued
// remain valid, but nobody can learn from the log what the leaf committed
// to. audit, if not nil, says who erased it and why, and is appended to
// the audit log in the same transaction. Erasing an erased entry is an
// ECONFLICT error; an index beyond the latest checkpoint is an ENOTFOUND
// error.
func (l *Log) Erase(ctx context.Context, index int64, audit *qorgau.AuditRecord) error {
	if index < 0 || index >= l.pub.Load().size {
		return qorgau.Errorf(qorgau.ENOTFOUND, "log entry %d not found", index)
	}
	return l.db.EraseLogObject(ctx, index, audit)
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size old is
// a prefix of the tree of size new: empty if old is 0 or new. It must hold
// that 0 <= old <= new <= Size(), or the error has code EINVALID.
func (l *Log) ConsistencyProof(ctx context.Context, old, new int64) (sumtlog.TreeProof, error) {
	if size := l.pub.Load().size; old < 0 || old > new || new > size {
		return nil, qorgau.Errorf(qorgau.EINVALID, "no consistency proof from size %d to %d in a log of size %d", old, new, size)
	}
	if old == 0 || old == new {
		return sumtlog.TreeProof{}, nil
	}
	p, err := sumtlog.ProveTree(new, old, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("prove consistency %d → %d: %w", old, new, err)
	}
	return p, nil
}

// hashReader reads stored hashes from the database.
func (l *Log) hashReader(ctx context.Context) sumtlog.HashReader {
	return sumtlog.HashReaderFunc(func(ids []int64) ([]sumtlog.Hash, error) {
		hs, err := l.db.LogHashes(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make([]sumtlog.Hash, len(hs))
		for i, h := range hs {
			out[i] = h
		}
		return out, nil
	})
}

// sign returns the signed checkpoint of the tree of size n with root.
func (l *Log) sign(n int64, root sumtlog.Hash) ([]byte, error) {
	text := Checkpoint{Origin: l.origin, Size: n, Root: root}.String()
	msg, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint %d: %w", n, err)
	}
	return msg, nil
}
