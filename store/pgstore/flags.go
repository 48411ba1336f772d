package pgstore

import (
	"flag"
	"strconv"
)

// RegisterFlags defines on fs the flags that configure a Store, each falling back to an
// environment variable read with getenv, and returns the Config they fill in once fs is parsed:
//
//	-database-url   UPLOADS_DATABASE_URL    PostgreSQL connection string
//	-s3-endpoint    UPLOADS_S3_ENDPOINT     host[:port] of the S3-compatible service
//	-s3-bucket      UPLOADS_S3_BUCKET       bucket for part objects (must exist)
//	-s3-access-key  UPLOADS_S3_ACCESS_KEY   credentials (prefer the environment for secrets:
//	-s3-secret-key  UPLOADS_S3_SECRET_KEY   flags show in process listings)
//	-s3-region      UPLOADS_S3_REGION       region (found out when empty)
//	-s3-use-ssl     UPLOADS_S3_USE_SSL      HTTPS to the endpoint (default true)
//	-s3-prefix      UPLOADS_S3_PREFIX       prefix of every object key
//	-parts-in-flight UPLOADS_PARTS_IN_FLIGHT parts written at once (up to 16 MiB of memory each)
func RegisterFlags(fs *flag.FlagSet, getenv func(string) string) *Config {
	cfg := &Config{
		DatabaseURL: getenv("UPLOADS_DATABASE_URL"),
		S3Endpoint:  getenv("UPLOADS_S3_ENDPOINT"),
		S3Bucket:    getenv("UPLOADS_S3_BUCKET"),
		S3AccessKey: getenv("UPLOADS_S3_ACCESS_KEY"),
		S3SecretKey: getenv("UPLOADS_S3_SECRET_KEY"),
		S3Region:    getenv("UPLOADS_S3_REGION"),
		S3UseSSL:    true,
		S3Prefix:    getenv("UPLOADS_S3_PREFIX"),
	}
	if v, err := strconv.ParseBool(getenv("UPLOADS_S3_USE_SSL")); err == nil {
		cfg.S3UseSSL = v
	}
	if v, err := strconv.Atoi(getenv("UPLOADS_PARTS_IN_FLIGHT")); err == nil {
		cfg.PartsInFlight = v
	}
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL connection string, for -store postgres (env UPLOADS_DATABASE_URL)")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", cfg.S3Endpoint, "host[:port] of the S3-compatible service, for -store postgres (env UPLOADS_S3_ENDPOINT)")
	fs.StringVar(&cfg.S3Bucket, "s3-bucket", cfg.S3Bucket, "bucket for part bytes, which must exist (env UPLOADS_S3_BUCKET)")
	fs.StringVar(&cfg.S3AccessKey, "s3-access-key", cfg.S3AccessKey, "S3 access key (env UPLOADS_S3_ACCESS_KEY)")
	fs.StringVar(&cfg.S3SecretKey, "s3-secret-key", cfg.S3SecretKey, "S3 secret key; prefer the environment (env UPLOADS_S3_SECRET_KEY)")
	fs.StringVar(&cfg.S3Region, "s3-region", cfg.S3Region, "S3 region, found out when empty (env UPLOADS_S3_REGION)")
	fs.BoolVar(&cfg.S3UseSSL, "s3-use-ssl", cfg.S3UseSSL, "use HTTPS to the S3 endpoint (env UPLOADS_S3_USE_SSL)")
	fs.StringVar(&cfg.S3Prefix, "s3-prefix", cfg.S3Prefix, "prefix of every object key, to share a bucket (env UPLOADS_S3_PREFIX)")
	fs.IntVar(&cfg.PartsInFlight, "parts-in-flight", cfg.PartsInFlight, "parts written to the bucket at once, up to 16 MiB of memory each; 0 means 8 (env UPLOADS_PARTS_IN_FLIGHT)")
	return cfg
}
