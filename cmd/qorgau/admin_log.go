package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"qorgau.kz/qorgau/internal/tlog"
)

// runAdminLog answers `qorgau admin log key`: the verifier key of the
// complaint log, to hand to auditors, witnesses and `qorgau verify --key`.
func runAdminLog(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "key" {
		return usageError("admin log: the command is: log key")
	}
	fs := newFlagSet("admin log key", "Usage: qorgau admin log key [-data DIR]\n\nPrints the complaint log's verifier key (signed-note format). Give it to\nauditors, witnesses and anyone who runs qorgau verify --key.")
	var d dbFlags
	d.register(fs, "./qorgau-data")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	skey, err := readFileTrim(filepath.Join(d.data, logKeyFile))
	if err != nil {
		return fmt.Errorf("no log key in %s: start qorgau serve once to create it (%w)", d.data, err)
	}
	_, vkey, err := tlog.NewSigner(skey)
	if err != nil {
		return err
	}
	fmt.Println(vkey)
	return nil
}

func readFileTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
