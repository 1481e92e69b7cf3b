package tlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// A Checkpoint is the body of a signed tree head, per C2SP tlog-checkpoint:
// the log's origin, the tree size and the root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   sumtlog.Hash
}

// String returns the checkpoint's note text: three lines, each ending in a
// newline. A Qorgau log writes no extension lines.
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

var errCheckpoint = errors.New("malformed checkpoint")

// ParseCheckpoint parses the text of a checkpoint note (the part before the
// signatures; see note.Note.Text). It follows C2SP tlog-checkpoint: a
// non-empty origin, a decimal size without leading zeroes, a base64 SHA-256
// root, then optional non-empty extension lines, which it ignores.
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.SplitAfterN(text, "\n", 4)
	if len(lines) < 3 {
		return c, fmt.Errorf("%w: want at least 3 lines", errCheckpoint)
	}
	for i, l := range lines[:3] {
		if !strings.HasSuffix(l, "\n") || l == "\n" {
			return c, fmt.Errorf("%w: line %d is empty or unterminated", errCheckpoint, i+1)
		}
		lines[i] = l[:len(l)-1]
	}
	if len(lines) == 4 && lines[3] != "" {
		ext := lines[3]
		if ext == "" || !strings.HasSuffix(ext, "\n") || strings.HasPrefix(ext, "\n") || strings.Contains(ext, "\n\n") {
			return c, fmt.Errorf("%w: bad extension lines", errCheckpoint)
		}
	}
	c.Origin = lines[0]
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: bad size %.24q", errCheckpoint, lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != sumtlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash %.64q", errCheckpoint, lines[2])
	}
	c.Root = sumtlog.Hash(root)
	return c, nil
}

// OpenCheckpoint verifies the signed checkpoint msg with v and parses it.
// The checkpoint's origin must be v's name, as C2SP tlog-checkpoint
// recommends and as every Qorgau log does.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint does not verify with key %s: %w", v.Name(), err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint is for origin %q, not %q", c.Origin, v.Name())
	}
	return c, nil
}

// readStateFile returns the signed checkpoint kept in path, or nil if there
// is no such file.
func readStateFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// writeStateFile replaces path with the signed checkpoint cp so that a
// crash leaves either the old file or the new one: it writes a temporary
// file next to it, syncs it, renames it into place and syncs the folder.
func writeStateFile(path string, cp []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(cp); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
