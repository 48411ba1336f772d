package pgstore_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestSessionTimeouts: every connection has a statement, a lock and an idle-in-transaction
// timeout, and one given in the database URL wins.
func TestSessionTimeouts(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	want := map[string]string{
		"statement_timeout":                   "30s",
		"lock_timeout":                        "10s",
		"idle_in_transaction_session_timeout": "1min",
	}
	for name, v := range want {
		got, err := pgstore.SessionSetting(context.Background(), s, name)
		if err != nil || got != v {
			t.Errorf("%s = %q, %v; want %q", name, got, err, v)
		}
	}

	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("lock_timeout", "2500ms")
	u.RawQuery = q.Encode()
	cfg.DatabaseURL = u.String()
	s2 := pgstoretest.OpenWith(t, cfg)
	if got, err := pgstore.SessionSetting(context.Background(), s2, "lock_timeout"); err != nil || got != "2500ms" {
		t.Errorf("lock_timeout set in the URL = %q, %v; want 2500ms", got, err)
	}
	if got, err := pgstore.SessionSetting(context.Background(), s2, "statement_timeout"); err != nil || got != "30s" {
		t.Errorf("statement_timeout beside a lock_timeout in the URL = %q, %v; want 30s", got, err)
	}
}
