package demo

import (
	"context"
	"fmt"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
)

// ensureKeys gives every demo member a member key (wrapped with the demo
// password) and every body a key, wrapped to the body's members, so that
// the demo can take complaints at once. A body with no member yet gets a
// key nobody holds: complaints to it are logged and delivered, and readable
// once a member is added and granted the key. Real deployments create body
// keys with `qorgau admin body init` once members exist.
func ensureKeys(ctx context.Context, db *store.DB, c *Country) error {
	for _, a := range accounts(c) {
		if a.Role != qorgau.RoleMember {
			continue
		}
		u, err := db.UserByName(ctx, a.Name)
		if err != nil {
			return err
		}
		if _, err := db.MemberKey(ctx, u.ID); err == nil {
			continue
		} else if qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			return err
		}
		rcpt, wrapped, err := seal.NewMemberKey(a.Password)
		if err != nil {
			return err
		}
		if err := db.SetMemberKey(ctx, u.ID, rcpt, wrapped, &qorgau.AuditRecord{Actor: "system", Action: qorgau.AuditMemberKeySet,
			Target: a.Name, Detail: "demo account"}); err != nil {
			return fmt.Errorf("demo member key %s: %w", a.Name, err)
		}
	}
	for _, b := range c.Bodies {
		if _, err := db.CurrentBodyKey(ctx, b.Code); err == nil {
			continue
		} else if qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
			return err
		}
		id, err := seal.NewBodyKey(false)
		if err != nil {
			return err
		}
		members, err := db.BodyMembers(ctx, b.Code)
		if err != nil {
			return err
		}
		wraps := map[int64][]byte{}
		for _, m := range members {
			if m.Recipient == "" {
				continue
			}
			to, err := seal.ParseRecipient(m.Recipient)
			if err != nil {
				return err
			}
			if wraps[m.ID], err = seal.WrapBodyKey(id, to); err != nil {
				return err
			}
		}
		rcpt := seal.RecipientOf(id)
		if err := db.ChangeBodyKeys(ctx, &store.BodyKeyChange{Body: b.Code,
			NewKey: &store.BodyKey{Recipient: rcpt, KeyID: seal.KeyID(rcpt)}, NewKeyWraps: wraps,
			Audit: []qorgau.AuditRecord{{Actor: "system", Action: qorgau.AuditBodyKeyCreated, Target: b.Code,
				Detail: fmt.Sprintf("demo key, wrapped to %d member(s)", len(wraps))}}}); err != nil {
			return fmt.Errorf("demo body key %s: %w", b.Code, err)
		}
	}
	return nil
}
