package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/tlog"
)

// runAdminLog answers `qorgau admin log key` and `qorgau admin log erase`.
func runAdminLog(ctx context.Context, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "key":
		return runAdminLogKey(ctx, args)
	case len(args) > 0 && args[0] == "erase":
		return runAdminLogErase(ctx, args[1:])
	}
	return usageError("admin log: say key, or erase --index N --reason TEXT")
}

// runAdminLogKey prints the verifier key of the complaint log, to hand to
// auditors, witnesses and `qorgau verify --key`.
func runAdminLogKey(ctx context.Context, args []string) error {
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

const adminLogEraseUsage = `Usage: qorgau admin log erase --index N --reason TEXT [-data DIR | -db URL]

Crypto-shreds the object and salt of the complaint log's entry N: the
stored envelope (or status event, or evidence manifest) the leaf commits
to is deleted for good, and the log can no longer show what the leaf was.
For a complaint (its id is its log index), the copies re-encrypted for the
bodies it was redirected to, and the text of the bodies' answers, are
deleted with it; its history of states and times stays.
The leaf itself stays, so the tree, every checkpoint and every receipt
already issued remain valid; a receipt of the erased entry still proves
its object to whoever holds both. The erasure and its reason go into the
audit log. It cannot be undone, and an entry can be erased once.`

// runAdminLogErase erases the object and salt of one log entry, audited.
func runAdminLogErase(ctx context.Context, args []string) error {
	fs := newFlagSet("admin log erase", adminLogEraseUsage)
	var d dbFlags
	d.register(fs, "./qorgau-data")
	index := fs.Int64("index", -1, "index of the log entry to erase")
	reason := fs.String("reason", "", "why the entry is erased (kept in the audit log)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *index < 0 {
		return usageError("admin log erase: --index N is required: the entry's index in the log, 0 or more")
	}
	if strings.TrimSpace(*reason) == "" {
		return usageError("admin log erase: --reason is required: say why the entry is erased; it goes into the audit log")
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.EraseLogObject(ctx, *index, &qorgau.AuditRecord{
		Actor: actor(), Action: qorgau.AuditLogErased, Target: fmt.Sprintf("log/%d", *index), Detail: "reason: " + strings.TrimSpace(*reason),
	})
	if err != nil {
		return plain(err)
	}
	fmt.Printf("log entry %d erased: its object and salt are gone; the leaf, the tree and issued receipts stay valid\n", *index)
	return nil
}

func readFileTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
