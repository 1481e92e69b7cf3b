//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockData takes an exclusive lock on the data folder for the life of the
// process, so that a second `qorgau serve` on the same SQLite database is
// refused: SQLite has one server, which is the log's one sequencer.
// Several servers share a PostgreSQL database instead (see tlog.Log.Lead).
// The lock goes with the process, however it ends.
func lockData(dir string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "serve.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another qorgau serve is running on %s: SQLite allows one server; run several on PostgreSQL (-db postgres://…)", dir)
		}
		return nil, fmt.Errorf("lock the data folder: %w", err)
	}
	return func() { f.Close() }, nil
}
