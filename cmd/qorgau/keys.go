package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/tlog"
)

// serverKeys are the secrets a server keeps in its data folder. Each is
// created on first start and never replaced: replacing the log key or the
// reply salt would orphan every receipt already issued.
type serverKeys struct {
	logSigner    note.Signer
	logVKey      string
	directoryKey ed25519.PrivateKey
	replySalt    []byte
	stateFile    string
}

// Key file names in the data folder.
const (
	logKeyFile       = "log.key"       // signed-note secret key of the complaint log
	directoryKeyFile = "directory.key" // Ed25519 seed signing the directory of bodies
	replySaltFile    = "reply.salt"    // per-deployment salt of receipt-code derivation
	logStateFile     = "log.state"     // the latest checkpoint, to detect a restored old database
)

// defaultOrigin names the log after this machine when no --log-origin is
// given: a log's origin should be the URL prefix it is served under.
func defaultOrigin() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return strings.ToLower(host) + "/qorgau/log"
}

// loadKeys reads the server's keys from dir, creating any that are missing.
// origin names a new log key; an existing key with another name is an
// error, since the origin of a log cannot change.
func loadKeys(dir, origin string) (*serverKeys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := &serverKeys{stateFile: filepath.Join(dir, logStateFile)}

	skey, err := readOrCreate(filepath.Join(dir, logKeyFile), func() ([]byte, error) {
		s, _, err := tlog.GenerateKey(origin)
		return []byte(s + "\n"), err
	})
	if err != nil {
		return nil, err
	}
	if k.logSigner, k.logVKey, err = tlog.NewSigner(strings.TrimSpace(string(skey))); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, logKeyFile), err)
	}
	if k.logSigner.Name() != origin {
		return nil, fmt.Errorf("the log key in %s is for origin %q, not %q: a log's origin cannot change (drop --log-origin or use the original)",
			filepath.Join(dir, logKeyFile), k.logSigner.Name(), origin)
	}

	seed, err := readOrCreate(filepath.Join(dir, directoryKeyFile), func() ([]byte, error) {
		s := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(s); err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(s) + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(seed)))
	if err != nil || len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: not a base64 Ed25519 seed", filepath.Join(dir, directoryKeyFile))
	}
	k.directoryKey = ed25519.NewKeyFromSeed(raw)

	salt, err := readOrCreate(filepath.Join(dir, replySaltFile), func() ([]byte, error) {
		return []byte(base64.StdEncoding.EncodeToString(seal.NewDeploymentSalt()) + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	if k.replySalt, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(salt))); err != nil || len(k.replySalt) < 16 {
		return nil, fmt.Errorf("%s: not a base64 salt of at least 16 bytes", filepath.Join(dir, replySaltFile))
	}
	return k, nil
}

// readOrCreate returns the content of path, creating it with make() first
// if it does not exist. The file is written to a temporary name, synced and
// linked into place, so that a crash leaves either no file or a whole one,
// and two processes starting at once agree on one key.
func readOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	content, err := make()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".new-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link, not rename: it fails if another process created the key first,
	// and then that key is the one.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return os.ReadFile(path)
}
