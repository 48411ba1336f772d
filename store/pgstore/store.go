package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/uploadkit/uploads/store"
)

var _ store.Store = (*Store)(nil)

// Config says where the store keeps its metadata and its bytes.
type Config struct {
	// DatabaseURL is a PostgreSQL connection string, for example
	// postgres://user:password@host:5432/uploads?sslmode=require. A search_path parameter
	// selects the schema the tables live in.
	DatabaseURL string

	// S3Endpoint is the host[:port] of the S3-compatible service, without a scheme.
	S3Endpoint string
	// S3Bucket is the bucket that holds part objects. It must exist.
	S3Bucket string
	// S3AccessKey and S3SecretKey are the credentials; both empty means anonymous access.
	S3AccessKey string
	S3SecretKey string
	// S3Region is the bucket's region; empty lets the client find it out.
	S3Region string
	// S3UseSSL selects HTTPS for the S3 endpoint.
	S3UseSSL bool
	// S3Prefix is put before every object key, so that several deployments can share a bucket.
	// Give it a trailing "/" to make it a folder.
	S3Prefix string
	// PartsInFlight is how many parts the Store writes to the bucket at once; more wait their
	// turn (or until their request ends). Each holds at most two 8 MiB buffers, so parts never
	// take more than PartsInFlight × 16 MiB of memory. 0 means DefaultPartsInFlight.
	PartsInFlight int
}

// Session timeouts set on every database connection, unless the URL sets them
// (statement_timeout=60s, for example): a stalled replica, or a query gone wrong, cannot hold an
// upload's row lock, or a connection, for longer than these.
const (
	// statementTimeout bounds one statement. The longest are the sweeper's batches and the
	// metrics' aggregate counts (themselves bounded by a 5 s deadline).
	statementTimeout = "30s"
	// lockTimeout bounds the wait for a row lock: a cancel or complete waiting behind a stalled
	// replica fails with an error (a 500 the client retries) instead of waiting for ever.
	lockTimeout = "10s"
	// idleInTransactionTimeout ends the session of a transaction left idle (a replica stopped
	// between two statements), which releases its locks. The store never waits on anything
	// but the bucket inside a transaction (the sweeper deleting objects of unfinished writes).
	idleInTransactionTimeout = "60s"
)

// Store is the networked store: PostgreSQL for metadata, an S3-compatible bucket for bytes. Any
// number of Stores, in any number of processes, may share one database and one bucket. It is safe
// for concurrent use. Create it with Open.
type Store struct {
	db     *pgxpool.Pool
	s3     *minio.Client
	bucket string
	prefix string
	// slots holds one token per part being written: at most Config.PartsInFlight.
	slots chan struct{}
	// buffers recycles the partChunkSize buffers of parts being written.
	buffers sync.Pool
	// removals is the background remover of the parts completions leave out (remover.go).
	removals remover

	closeOnce sync.Once
}

// Open connects to the database and the bucket, and applies pending schema migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if cfg.PartsInFlight < 0 {
		return nil, fmt.Errorf("open postgres store: negative parts in flight %d", cfg.PartsInFlight)
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: parse database URL: %w", err)
	}
	params := poolCfg.ConnConfig.RuntimeParams
	for name, value := range map[string]string{
		"statement_timeout":                   statementTimeout,
		"lock_timeout":                        lockTimeout,
		"idle_in_transaction_session_timeout": idleInTransactionTimeout,
	} {
		if _, set := params[name]; !set {
			params[name] = value
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: connect to %s: %w", redactedURL(pool), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	client, err := newS3Client(ctx, cfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	inFlight := cfg.PartsInFlight
	if inFlight == 0 {
		inFlight = DefaultPartsInFlight
	}
	s := &Store{db: pool, s3: client, bucket: cfg.S3Bucket, prefix: cfg.S3Prefix, slots: make(chan struct{}, inFlight)}
	s.buffers.New = func() any { b := make([]byte, partChunkSize); return &b }
	s.startRemover()
	return s, nil
}

// validate reports the first setting that is missing or malformed.
func (cfg Config) validate() error {
	switch {
	case cfg.DatabaseURL == "":
		return errors.New("no database URL")
	case cfg.S3Endpoint == "":
		return errors.New("no S3 endpoint")
	case strings.Contains(cfg.S3Endpoint, "://"):
		return fmt.Errorf("S3 endpoint %q: give host[:port] without a scheme (HTTPS is chosen by the SSL setting)", cfg.S3Endpoint)
	case cfg.S3Bucket == "":
		return errors.New("no S3 bucket")
	case (cfg.S3AccessKey == "") != (cfg.S3SecretKey == ""):
		return errors.New("give both the S3 access key and the S3 secret key, or neither")
	}
	return nil
}

// newS3Client makes the bucket client and checks that the bucket exists.
func newS3Client(ctx context.Context, cfg Config) (*minio.Client, error) {
	opts := &minio.Options{
		Secure: cfg.S3UseSSL,
		Region: cfg.S3Region,
		// Path-style requests work with every S3-compatible server, and with names that are
		// not valid host names.
		BucketLookup: minio.BucketLookupPath,
	}
	if cfg.S3AccessKey != "" {
		opts.Creds = credentials.NewStaticV4(cfg.S3AccessKey, cfg.S3SecretKey, "")
	}
	client, err := minio.New(cfg.S3Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %s: %w", cfg.S3Endpoint, err)
	}
	ok, err := client.BucketExists(ctx, cfg.S3Bucket)
	if err != nil {
		return nil, fmt.Errorf("check bucket %s at %s: %w", cfg.S3Bucket, cfg.S3Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("bucket %s does not exist at %s", cfg.S3Bucket, cfg.S3Endpoint)
	}
	return client, nil
}

// redactedURL names the database the pool connects to, without its password.
func redactedURL(pool *pgxpool.Pool) string {
	c := pool.Config().ConnConfig
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close finishes the releases the background remover has queued (within cleanupTimeout; the
// sweeper finishes any it cannot), then closes the database connections, waiting for queries in
// progress. Calls after the first do nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopRemover()
		s.db.Close()
	})
	return nil
}
