package main

import (
	"context"
	"fmt"
	"os"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/notify"
	"qorgau.kz/qorgau/internal/store"
)

const adminWebhookUsage = `Usage: qorgau admin body webhook set CODE URL
       qorgau admin body webhook remove CODE
       qorgau admin body webhook show CODE

set makes notices to body CODE also POSTed, as JSON, to URL, and prints a new
secret ONCE: the receiver checks each call's header
  X-Qorgau-Signature: sha256=hex(HMAC-SHA256(secret, X-Qorgau-Timestamp + "." + body))
and refuses calls whose timestamp is old. Setting it again replaces the URL
and the secret. Failed calls are retried with back-off. Every command takes
-data DIR or -db URL like serve, and appends an audit record.
`

// runAdminBodyWebhook runs `qorgau admin body webhook …`.
func runAdminBodyWebhook(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(adminWebhookUsage)
		if len(args) == 0 {
			return usageError("admin body webhook: say set, remove or show")
		}
		return nil
	}
	verb := args[0]
	fs := newFlagSet("admin body webhook "+verb, adminWebhookUsage)
	var d dbFlags
	d.register(fs, "./qorgau-data")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"set": 2, "remove": 1, "show": 1}
	n, ok := want[verb]
	if !ok {
		fmt.Fprint(os.Stderr, adminWebhookUsage)
		return usageError(fmt.Sprintf("admin body webhook: unknown command %q", verb))
	}
	if len(pos) != n {
		fmt.Fprint(os.Stderr, adminWebhookUsage)
		return usageError(fmt.Sprintf("admin body webhook %s takes %d arguments", verb, n))
	}
	db, err := d.open(ctx, quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	body := pos[0]
	switch verb {
	case "set":
		w := &store.Webhook{Body: body, URL: pos[1], Secret: notify.NewSecret()}
		if err := db.SetWebhook(ctx, w, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditWebhookSet, Target: body, Detail: w.URL}); err != nil {
			return plain(err)
		}
		fmt.Printf("webhook of %s: %s\nsecret (shown once; give it to the receiver): %s\n", body, w.URL, w.Secret)
	case "remove":
		if err := db.RemoveWebhook(ctx, body, &qorgau.AuditRecord{Actor: actor(), Action: qorgau.AuditWebhookRemoved, Target: body}); err != nil {
			return plain(err)
		}
		fmt.Printf("webhook of %s removed\n", body)
	case "show":
		w, err := db.BodyWebhook(ctx, body)
		if err != nil {
			return plain(err)
		}
		fmt.Printf("webhook of %s: %s (set %s)\n", body, w.URL, w.Created.Format("2006-01-02 15:04 UTC"))
	}
	return nil
}
