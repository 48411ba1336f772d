package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestOpenRefusesIncompleteConfig: a configuration missing a setting is refused before any
// connection, naming the setting.
func TestOpenRefusesIncompleteConfig(t *testing.T) {
	good := pgstore.Config{DatabaseURL: "postgres://u@127.0.0.1:1/db", S3Endpoint: "127.0.0.1:1", S3Bucket: "b",
		S3AccessKey: "a", S3SecretKey: "s"}
	tests := []struct {
		name   string
		change func(*pgstore.Config)
		want   string
	}{
		{"no database URL", func(c *pgstore.Config) { c.DatabaseURL = "" }, "no database URL"},
		{"no endpoint", func(c *pgstore.Config) { c.S3Endpoint = "" }, "no S3 endpoint"},
		{"endpoint with scheme", func(c *pgstore.Config) { c.S3Endpoint = "http://127.0.0.1:1" }, "without a scheme"},
		{"no bucket", func(c *pgstore.Config) { c.S3Bucket = "" }, "no S3 bucket"},
		{"access key alone", func(c *pgstore.Config) { c.S3SecretKey = "" }, "or neither"},
		{"secret key alone", func(c *pgstore.Config) { c.S3AccessKey = "" }, "or neither"},
		{"malformed database URL", func(c *pgstore.Config) { c.DatabaseURL = "postgres://u@127.0.0.1:notaport/db" }, "parse database URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			s, err := pgstore.Open(context.Background(), cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v; want it to say %q", err, tc.want)
			}
		})
	}
}

// TestOpenRefusesUnreachableEngines: a database nobody listens on, or a bucket that does not
// exist, fails Open with an error that says which.
func TestOpenRefusesUnreachableEngines(t *testing.T) {
	cfg := pgstoretest.Config(t)
	tests := []struct {
		name   string
		change func(*pgstore.Config)
		want   string
	}{
		{"missing bucket", func(c *pgstore.Config) { c.S3Bucket = "no-such-bucket-" + randomHex(4) }, "does not exist"},
		{"wrong credentials", func(c *pgstore.Config) { c.S3SecretKey = "wrong" }, "check bucket"},
		{"no database server", func(c *pgstore.Config) { c.DatabaseURL = "postgres://u@127.0.0.1:1/db?connect_timeout=5" }, "connect to postgres://u@127.0.0.1:1/db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.change(&c)
			s, err := pgstore.Open(context.Background(), c)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v; want it to say %q", err, tc.want)
			}
		})
	}
}
