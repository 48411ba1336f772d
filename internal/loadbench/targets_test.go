package loadbench_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestPostgresTargets checks the networked store's targets of BENCHMARKS.md as ratios measured
// in one run, with the two sides taking turns round by round: (a) a create and a cancel cost this
// process at most twice the CPU they cost on SQLite (PostgreSQL's own CPU is another process's,
// as the S3 server's is); (b) a 64 MiB part goes through the server to the bucket at no less than
// 80% of the rate at which the same bytes go straight to the S3 server from this process, as one
// multipart upload of 8 MiB chunks. It needs the engines and UPLOADS_BENCH_ASSERT=1
// (make bench-check under scripts/ci-engines.sh).
func TestPostgresTargets(t *testing.T) {
	if os.Getenv("UPLOADS_BENCH_ASSERT") != "1" {
		t.Skip("set UPLOADS_BENCH_ASSERT=1 to check the performance targets")
	}
	cfg := pgstoretest.Config(t)
	pg := pgTarget(t, "postgres", cfg, 1)
	sq := sqliteTarget(t)

	t.Run("CPU per request", func(t *testing.T) {
		for _, op := range []string{"create", "cancel"} {
			var cpu [2]time.Duration
			const rounds, n = 4, 100
			for range rounds {
				for i, tg := range []target{sq, pg} {
					cpu[i] += run(t, tg, op, 1, n).cpuPerRequest
				}
			}
			ratio := float64(cpu[1]) / float64(cpu[0])
			t.Logf("%s: CPU per request %v on SQLite, %v on PostgreSQL: %.2fx", op, cpu[0]/rounds, cpu[1]/rounds, ratio)
			if ratio > 2 {
				t.Errorf("%s costs %.2fx the CPU on PostgreSQL, want at most 2x SQLite's", op, ratio)
			}
		}
	})

	t.Run("part rate", func(t *testing.T) {
		core, err := minio.New(cfg.S3Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.S3AccessKey, cfg.S3SecretKey, ""),
			Region: cfg.S3Region, BucketLookup: minio.BucketLookupPath})
		if err != nil {
			t.Fatal(err)
		}
		const size, rounds = 64 << 20, 4
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		var spent [2]time.Duration
		for i := range rounds {
			start := time.Now()
			_, err := core.PutObject(context.Background(), cfg.S3Bucket, cfg.S3Prefix+"direct/"+string(rune('a'+i)),
				io.LimitReader(repeatReader(chunk), size), -1, minio.PutObjectOptions{PartSize: 8 << 20})
			if err != nil {
				t.Fatalf("direct put: %v", err)
			}
			spent[0] += time.Since(start)
			spent[1] += run(t, pg, "part 64 MiB", 1, 1).elapsed
		}
		mbps := func(d time.Duration) float64 { return float64(rounds*size) / d.Seconds() / (1 << 20) }
		ratio := mbps(spent[1]) / mbps(spent[0])
		t.Logf("64 MiB parts: straight to the S3 server %.0f MiB/s, through the server %.0f MiB/s: %.0f%%", mbps(spent[0]), mbps(spent[1]), ratio*100)
		if ratio < 0.8 {
			t.Errorf("parts go to the bucket at %.0f%% of the S3 server's own rate, want at least 80%%", ratio*100)
		}
	})
}
