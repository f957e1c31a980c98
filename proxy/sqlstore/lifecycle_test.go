package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// keyings are the two ways a Service keys its pseudonyms: the host's
// PseudonymKey, or, without it, the key derived from the signature
// secret.
var keyings = []struct {
	name string
	set  func(*proxy.Config)
}{
	{"pseudonym-key", func(c *proxy.Config) {}},
	{"signature-secret", func(c *proxy.Config) {
		c.Privacy.PseudonymKey, c.Webhooks.SignatureSecret = nil, proxytest.SignatureSecret
	}},
}

// lifecycleService is a Service, as privacyService makes it, on a store
// open makes, keyed as keying says; it keeps SMS bodies and relays SMS.
func lifecycleService(t *testing.T, open func(testing.TB) *sqlstore.Store, keying func(*proxy.Config)) (*proxy.Service, *sqlstore.Store, *clockFor) {
	t.Helper()
	st := open(t)
	svc, clk := privacyService(t, storeKind{open: func(testing.TB) proxy.Store { return st }}, func(c *proxy.Config) {
		c.Allocation.CoolOff, c.Privacy.Retention = -1, 30*24*time.Hour
		c.SMS.StoreBodies, c.SMS.Sender = true, nopSMS{}
		keying(c)
	})
	return svc, st, clk
}

// inbound delivers an inbound SMS from → to; part > 0 makes it that part
// of a two-part message ref.
func inbound(t *testing.T, svc *proxy.Service, from, to, id, text, ref string, part int) {
	t.Helper()
	p := map[string]string{"msisdn": from, "to": to, "messageId": id, "text": text, "type": "text",
		"message-timestamp": "2026-03-01 12:00:00", "timestamp": strconv.FormatInt(privacyStart.Unix(), 10)}
	if part > 0 {
		p["concat"], p["concat-ref"], p["concat-total"], p["concat-part"] = "true", ref, "2", fmt.Sprint(part)
	}
	post(t, svc, p)
}

// leftovers lists, for every text column of every table of the store's
// schema, the values that contain one of needles.
func leftovers(t *testing.T, st *sqlstore.Store, needles ...string) []string {
	t.Helper()
	db, ctx := st.DB(), t.Context()
	var cols [][2]string
	var rows *sql.Rows
	var err error
	if st.Dialect() == "sqlite" {
		rows, err = db.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND lower(p.type) = 'text'`)
	} else {
		rows, err = db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'jsonb', 'json')`)
	}
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	if len(cols) < 20 {
		t.Fatalf("found only %d text columns: %v", len(cols), cols)
	}
	var found []string
	for _, c := range cols {
		vals, err := db.QueryContext(ctx, `SELECT CAST(`+c[1]+` AS text) FROM `+c[0])
		if err != nil {
			t.Fatal(err)
		}
		for vals.Next() {
			var v string
			if err := vals.Scan(&v); err != nil {
				t.Fatal(err)
			}
			for _, n := range needles {
				if strings.Contains(v, n) {
					found = append(found, c[0]+"."+c[1]+" = "+v)
				}
			}
		}
		if err := errors.Join(vals.Err(), vals.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// TestNoNumberOutlivesRetention: 90 days after a conversation, and the
// sweeps, no text column of any table holds either participant's number,
// a label or an incomplete message's text, with a PseudonymKey or
// without (the key then derived from the signature secret); the STOP
// one of them sent is still honoured.
func TestNoNumberOutlivesRetention(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		for _, k := range keyings {
			t.Run(be.name+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				svc, st, clk := lifecycleService(t, be.open, k.set)
				ctx := t.Context()
				if err := svc.AddNumbers(ctx, poolNumbers(1)...); err != nil {
					t.Fatal(err)
				}
				rider, driver := person(1), person(2)
				c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + driver,
					Labels: proxy.Labels{A: "Alice Smith", B: "Bob Jones"}, Metadata: map[string]string{"job": "j-1"}})
				if err != nil {
					t.Fatal(err)
				}
				pool := c.Participants[0].ProxyNumber
				if _, err := svc.SendMessage(ctx, c.ID, proxy.SideA, "your driver is here"); err != nil {
					t.Fatal(err)
				}
				inbound(t, svc, rider, pool, "M1", "hello", "", 0)
				inbound(t, svc, rider, pool, "M2", "one ", "5", 1)
				inbound(t, svc, rider, pool, "M3", "two", "5", 2)
				inbound(t, svc, rider, pool, "M4", "my address is 1 Private Road, ", "6", 1) // never completed
				inbound(t, svc, driver, pool, "M5", "STOP", "", 0)
				if n, err := svc.RelayNow(ctx); err != nil {
					t.Fatalf("RelayNow = %d, %v", n, err)
				}
				if _, err := svc.CloseConversation(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				clk.t = clk.t.Add(90 * 24 * time.Hour)
				if _, err := svc.ExpireNow(ctx); err != nil {
					t.Fatal(err)
				}
				if n, err := svc.PseudonymizeNow(ctx); err != nil || n != 1 {
					t.Fatalf("PseudonymizeNow = %d, %v; want 1", n, err)
				}
				if found := leftovers(t, st, rider, driver, "Alice Smith", "Bob Jones", "Private Road"); len(found) > 0 {
					t.Errorf("after retention and the sweeps the database holds:\n%s", strings.Join(found, "\n"))
				}
				// The driver's STOP holds, kept under a pseudonym.
				again, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + driver})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.SendMessage(ctx, again.ID, proxy.SideB, "hi"); !errors.Is(err, proxy.ErrOptedOut) {
					t.Errorf("message to the driver who sent STOP: %v; want ErrOptedOut", err)
				}
			})
		}
	}
}

// TestErasureLeavesNothing: right after EraseParticipant, no text column
// of any table holds the erased person's number, either label, the
// host's metadata or the text of a message part they had sent; the STOP
// they sent still holds.
func TestErasureLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		for _, k := range keyings {
			t.Run(be.name+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				svc, st, clk := lifecycleService(t, be.open, k.set)
				ctx := t.Context()
				if err := svc.AddNumbers(ctx, poolNumbers(1)...); err != nil {
					t.Fatal(err)
				}
				rider, driver := person(1), person(2)
				c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + driver,
					Labels: proxy.Labels{A: "Alice Smith", B: "Bob Jones"}, Metadata: map[string]string{"customer": "Alice Smith, 1 Private Road"}})
				if err != nil {
					t.Fatal(err)
				}
				pool := c.Participants[0].ProxyNumber
				inbound(t, svc, rider, pool, "M1", "one ", "5", 1)
				inbound(t, svc, rider, pool, "M2", "two", "5", 2)
				inbound(t, svc, rider, pool, "M3", "STOP", "", 0)
				inbound(t, svc, rider, pool, "M4", "my address is 1 Private Road, ", "6", 1)
				if _, err := svc.RelayNow(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.CloseConversation(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				clk.t = clk.t.Add(time.Minute)
				rep, err := svc.EraseParticipant(ctx, "+"+rider)
				if err != nil || len(rep.Pseudonymized) != 1 {
					t.Fatalf("EraseParticipant = %+v, %v", rep, err)
				}
				if found := leftovers(t, st, rider, "Alice Smith", "Bob Jones", "Private Road"); len(found) > 0 {
					t.Errorf("after the erasure the database holds:\n%s", strings.Join(found, "\n"))
				}
				got, err := svc.Conversation(ctx, c.ID)
				if err != nil || got.Participants[0].Label != "" || got.Participants[1].Label != "" || len(got.Metadata) != 0 {
					t.Errorf("erased conversation %+v, %v", got, err)
				}
				again, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + driver})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.SendMessage(ctx, again.ID, proxy.SideA, "hi"); !errors.Is(err, proxy.ErrOptedOut) {
					t.Errorf("message to the erased rider who sent STOP: %v; want ErrOptedOut", err)
				}
			})
		}
	}
}
