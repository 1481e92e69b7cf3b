//go:build !unix

package main

// lockData does nothing where flock is missing: run one server per SQLite
// database there.
func lockData(dir string) (release func(), err error) { return func() {}, nil }
