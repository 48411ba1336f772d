// Package pgstoretest gives tests a PostgreSQL store of their own on the engines that
// scripts/ci-engines.sh starts: each test gets a fresh schema in the test database and a fresh
// key prefix in the test bucket, both removed when it ends.
//
// The engines are found through UPLOADS_TEST_DATABASE_URL, UPLOADS_TEST_S3_ENDPOINT,
// UPLOADS_TEST_S3_BUCKET, UPLOADS_TEST_S3_ACCESS_KEY and UPLOADS_TEST_S3_SECRET_KEY. When they
// are not set a test skips, saying how to start the engines; under CI (CI=true) it fails instead,
// so that CI cannot pass by skipping.
package pgstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/uploadkit/uploads/store/pgstore"
)

// envNames are the variables that say where the test engines are.
var envNames = []string{
	"UPLOADS_TEST_DATABASE_URL",
	"UPLOADS_TEST_S3_ENDPOINT",
	"UPLOADS_TEST_S3_BUCKET",
	"UPLOADS_TEST_S3_ACCESS_KEY",
	"UPLOADS_TEST_S3_SECRET_KEY",
}

// Require skips t when the test engines are not configured, or fails it under CI.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, name := range envNames {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("needs PostgreSQL and an S3 server: %s not set (run: bash scripts/ci-engines.sh go test ./...)",
			strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", msg)
		}
		t.Skip(msg)
	}
}

// Config returns the configuration of a new, empty store on the test engines: a schema and a
// key prefix that nothing else uses, dropped when t ends. Stores opened with it share them, as
// replicas do. Without the engines it skips t, or fails it under CI.
func Config(t testing.TB) pgstore.Config {
	t.Helper()
	Require(t)
	name := "t_" + randomHex(8)
	base := os.Getenv("UPLOADS_TEST_DATABASE_URL")
	createSchema(t, base, name)
	cfg := pgstore.Config{
		DatabaseURL: withSearchPath(t, base, name),
		S3Endpoint:  os.Getenv("UPLOADS_TEST_S3_ENDPOINT"),
		S3Bucket:    os.Getenv("UPLOADS_TEST_S3_BUCKET"),
		S3AccessKey: os.Getenv("UPLOADS_TEST_S3_ACCESS_KEY"),
		S3SecretKey: os.Getenv("UPLOADS_TEST_S3_SECRET_KEY"),
		S3Region:    "us-east-1",
		S3Prefix:    name + "/",
	}
	t.Cleanup(func() { removePrefix(t, cfg) })
	return cfg
}

// Open opens a new, empty store on the test engines, closed when t ends.
func Open(t testing.TB) *pgstore.Store {
	t.Helper()
	return OpenWith(t, Config(t))
}

// OpenWith opens a store with cfg, closed when t ends.
func OpenWith(t testing.TB, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// ObjectKeys lists the keys of the objects under cfg's prefix, without the prefix.
func ObjectKeys(t testing.TB, cfg pgstore.Config) []string {
	t.Helper()
	client := bucketClient(t, cfg)
	var keys []string
	for obj := range client.ListObjects(context.Background(), cfg.S3Bucket,
		minio.ListObjectsOptions{Prefix: cfg.S3Prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("list objects under %s: %v", cfg.S3Prefix, obj.Err)
		}
		keys = append(keys, strings.TrimPrefix(obj.Key, cfg.S3Prefix))
	}
	return keys
}

// Exec runs SQL statements in the store's schema, for tests that stage what only a crash or
// another version of the program would leave.
func Exec(t testing.TB, cfg pgstore.Config, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// createSchema makes schema name in the database at base, and drops it when t ends.
func createSchema(t testing.TB, base, name string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to the test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
}

// withSearchPath adds search_path=schema to a postgres:// URL or a key=value connection string.
func withSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("UPLOADS_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// removePrefix deletes every object under cfg's prefix.
func removePrefix(t testing.TB, cfg pgstore.Config) {
	t.Helper()
	client := bucketClient(t, cfg)
	ctx := context.Background()
	objects := client.ListObjects(ctx, cfg.S3Bucket, minio.ListObjectsOptions{Prefix: cfg.S3Prefix, Recursive: true})
	for res := range client.RemoveObjectsWithResult(ctx, cfg.S3Bucket, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			t.Errorf("remove test object %s: %v", res.ObjectName, res.Err)
		}
	}
}

// bucketClient is a client of the test bucket.
func bucketClient(t testing.TB, cfg pgstore.Config) *minio.Client {
	t.Helper()
	client, err := minio.New(cfg.S3Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.S3AccessKey, cfg.S3SecretKey, ""),
		Secure:       cfg.S3UseSSL,
		Region:       cfg.S3Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatalf("S3 client: %v", err)
	}
	return client
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// QueryInt runs a query returning one integer in the store's schema.
func QueryInt(t testing.TB, cfg pgstore.Config, sql string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// PutObject stores data under cfg's prefix + key, as a crashed writer could have left it.
func PutObject(t testing.TB, cfg pgstore.Config, key string, data []byte) {
	t.Helper()
	_, err := bucketClient(t, cfg).PutObject(context.Background(), cfg.S3Bucket, cfg.S3Prefix+key,
		bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("put object %s: %v", key, err)
	}
}

// IncompleteMultipartUploads counts S3 multipart uploads under cfg's prefix never completed or
// aborted.
func IncompleteMultipartUploads(t testing.TB, cfg pgstore.Config) int {
	t.Helper()
	n := 0
	for u := range bucketClient(t, cfg).ListIncompleteUploads(context.Background(), cfg.S3Bucket, cfg.S3Prefix, true) {
		if u.Err != nil {
			t.Fatalf("list incomplete multipart uploads: %v", u.Err)
		}
		n++
	}
	return n
}

// PutUnfinishedMultipart starts an S3 multipart upload of cfg's prefix + key and sends one part
// of size bytes, leaving it unfinished, as a writer that died mid-part leaves it.
func PutUnfinishedMultipart(t testing.TB, cfg pgstore.Config, key string, size int) {
	t.Helper()
	ctx := context.Background()
	core := minio.Core{Client: bucketClient(t, cfg)}
	id, err := core.NewMultipartUpload(ctx, cfg.S3Bucket, cfg.S3Prefix+key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("start multipart upload %s: %v", key, err)
	}
	_, err = core.PutObjectPart(ctx, cfg.S3Bucket, cfg.S3Prefix+key, id, 1,
		bytes.NewReader(make([]byte, size)), int64(size), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatalf("send a part of multipart upload %s: %v", key, err)
	}
}
