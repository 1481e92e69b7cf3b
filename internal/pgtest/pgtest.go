// Package pgtest starts a throw-away PostgreSQL cluster for tests: initdb and
// pg_ctl from the machine's PostgreSQL binaries, a temporary folder, a free
// loopback port. One cluster serves a whole test binary; each test gets its
// own database.
//
// As root, initdb refuses to run, so the cluster then runs as the postgres
// system user (through runuser).
//
// Without PostgreSQL, tests that ask for a database are skipped with a
// message; when the environment has CI=true they fail instead, so that a CI
// machine that lost its PostgreSQL cannot pass silently.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Cluster is a running throw-away PostgreSQL server.
type Cluster struct {
	dir  string
	port int
	bin  string
	sudo []string // command prefix to run as the postgres user, or nil
	n    atomic.Int64
}

// Options tune the cluster.
type Options struct {
	// Durable keeps fsync on, for benchmarks that must count real commits.
	// Tests leave it off: the cluster is thrown away.
	Durable bool
}

var (
	shared    *Cluster
	sharedErr error
	once      sync.Once
)

// ErrNoPostgres means no PostgreSQL binaries were found on this machine.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin")

// NewDatabase returns the URL of a new, empty database on the test binary's
// shared cluster, starting the cluster on first use. It skips the test when
// PostgreSQL is missing, or fails it when CI=true.
func NewDatabase(t testing.TB) string {
	t.Helper()
	once.Do(func() { shared, sharedErr = Start(Options{}) })
	if sharedErr != nil {
		if errors.Is(sharedErr, ErrNoPostgres) && os.Getenv("CI") != "true" {
			t.Skipf("skipping PostgreSQL run: %v", sharedErr)
		}
		t.Fatalf("PostgreSQL: %v", sharedErr)
	}
	url, err := shared.CreateDatabase(context.Background())
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	return url
}

// StopShared stops the shared cluster if one was started. Call it from
// TestMain after m.Run.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// findBin returns the folder holding initdb and pg_ctl.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start initialises and starts a new cluster.
func Start(opt Options) (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if c.dir, err = os.MkdirTemp("", "qorgau-pg-"); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(c.dir)
			return nil, fmt.Errorf("running as root, and initdb refuses root: no postgres user to run as: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
		c.sudo = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(c.dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	settings := "-c listen_addresses=127.0.0.1 -k " + c.dir + " -c max_connections=200 -c shared_buffers=128MB"
	if !opt.Durable {
		settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			c.Stop()
			return nil, err
		}
		out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60",
			"-o", fmt.Sprintf("-p %d %s", c.port, settings), "start")
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
			c.Stop()
			return nil, fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
		}
	}
	return c, nil
}

func (c *Cluster) run(tool string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, c.sudo...), filepath.Join(c.bin, tool)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the connection URL of database name on the cluster.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// CreateDatabase creates a new, empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.n.Add(1))
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.URL(name), nil
}

// Stop stops the server at once and removes its files.
func (c *Cluster) Stop() {
	if c.port != 0 {
		c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	if strings.HasPrefix(filepath.Base(c.dir), "qorgau-pg-") {
		os.RemoveAll(c.dir)
	}
}
