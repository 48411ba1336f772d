package pgstore_test

import (
	"flag"
	"io"
	"testing"

	"github.com/uploadkit/uploads/store/pgstore"
)

// TestRegisterFlags: flags override the environment, which overrides the defaults.
func TestRegisterFlags(t *testing.T) {
	env := map[string]string{
		"UPLOADS_DATABASE_URL":  "postgres://env/db",
		"UPLOADS_S3_ENDPOINT":   "env:9000",
		"UPLOADS_S3_BUCKET":     "env-bucket",
		"UPLOADS_S3_ACCESS_KEY": "env-access",
		"UPLOADS_S3_SECRET_KEY": "env-secret",
		"UPLOADS_S3_USE_SSL":    "false",
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want pgstore.Config
	}{
		{"defaults", nil, nil, pgstore.Config{S3UseSSL: true}},
		{"environment", env, nil, pgstore.Config{DatabaseURL: "postgres://env/db", S3Endpoint: "env:9000",
			S3Bucket: "env-bucket", S3AccessKey: "env-access", S3SecretKey: "env-secret"}},
		{"flags over environment", env, []string{"-database-url", "postgres://flag/db", "-s3-endpoint", "flag:9000",
			"-s3-bucket", "flag-bucket", "-s3-region", "eu-west-1", "-s3-use-ssl", "-s3-prefix", "a/"},
			pgstore.Config{DatabaseURL: "postgres://flag/db", S3Endpoint: "flag:9000", S3Bucket: "flag-bucket",
				S3AccessKey: "env-access", S3SecretKey: "env-secret", S3Region: "eu-west-1", S3UseSSL: true, S3Prefix: "a/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg := pgstore.RegisterFlags(fs, func(k string) string { return tc.env[k] })
			if err := fs.Parse(tc.args); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if *cfg != tc.want {
				t.Errorf("config = %+v, want %+v", *cfg, tc.want)
			}
		})
	}
}
