package loadbench_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
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
		// Each round sends one 64 MiB part both ways, in alternating order, and the target is checked
		// on the median of the rounds' ratios: a burst of load from elsewhere on the machine then
		// spoils one round, not the verdict.
		const size, rounds = 64 << 20, 7
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		direct := func(i int) time.Duration {
			start := time.Now()
			_, err := core.PutObject(context.Background(), cfg.S3Bucket, cfg.S3Prefix+"direct/"+string(rune('a'+i)),
				io.LimitReader(repeatReader(chunk), size), -1, minio.PutObjectOptions{PartSize: 8 << 20})
			if err != nil {
				t.Fatalf("direct put: %v", err)
			}
			return time.Since(start)
		}
		ratios := make([]float64, rounds)
		var spent [2]time.Duration
		for i := range rounds {
			var d, through time.Duration
			if i%2 == 0 {
				d = direct(i)
				through = run(t, pg, "part 64 MiB", 1, 1).elapsed
			} else {
				through = run(t, pg, "part 64 MiB", 1, 1).elapsed
				d = direct(i)
			}
			spent[0] += d
			spent[1] += through
			ratios[i] = float64(d) / float64(through) // the server's rate as a share of the direct rate
		}
		slices.Sort(ratios)
		ratio := ratios[rounds/2]
		mbps := func(d time.Duration) float64 { return float64(rounds*size) / d.Seconds() / (1 << 20) }
		t.Logf("64 MiB parts: straight to the S3 server %.0f MiB/s, through the server %.0f MiB/s; median of %d rounds %.0f%% (rounds %.2f)",
			mbps(spent[0]), mbps(spent[1]), rounds, ratio*100, ratios)
		if ratio < 0.8 {
			t.Errorf("parts go to the bucket at %.0f%% of the S3 server's own rate, want at least 80%%", ratio*100)
		}
	})
}
