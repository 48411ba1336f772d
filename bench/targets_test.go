package bench

import (
	"os"
	"slices"
	"testing"
)

// assertEnv turns on TestTargets; `make bench-check` sets it. Timings depend on the machine and on
// what else runs on it, so no ordinary test run checks them.
const assertEnv = "UPLOADS_BENCH_ASSERT"

// skipUnlessAsserting skips t unless the performance targets were asked for.
func skipUnlessAsserting(t *testing.T) {
	t.Helper()
	if os.Getenv(assertEnv) != "1" {
		t.Skipf("set %s=1 to check the performance targets (about a minute of benchmarks)", assertEnv)
	}
}

// measured is the median, over rounds, of each contender's results, and of each ratio to the
// floor computed within a round.
type measured struct {
	ns, bytes, allocs, mbps map[string]float64
	// nsVsFloor and mbpsVsFloor are ours/floor per round, medians over the rounds.
	nsVsFloor, mbpsVsFloor float64
}

// measure runs the contenders one after the other, rounds times, so that a change in the load
// of the machine hits all of them alike; ratios are taken within a round.
func measure(t *testing.T, impls []impl, rounds int) measured {
	t.Helper()
	samples := map[string]map[string][]float64{"ns": {}, "bytes": {}, "allocs": {}, "mbps": {}}
	var nsRatio, mbpsRatio []float64
	for range rounds {
		round := map[string]testing.BenchmarkResult{}
		for _, c := range impls {
			r := testing.Benchmark(c.run)
			if r.N == 0 {
				t.Fatalf("benchmark of %s failed", c.name)
			}
			round[c.name] = r
			samples["ns"][c.name] = append(samples["ns"][c.name], float64(r.NsPerOp()))
			samples["bytes"][c.name] = append(samples["bytes"][c.name], float64(r.AllocedBytesPerOp()))
			samples["allocs"][c.name] = append(samples["allocs"][c.name], float64(r.AllocsPerOp()))
			samples["mbps"][c.name] = append(samples["mbps"][c.name], mbPerSecond(r))
		}
		nsRatio = append(nsRatio, float64(round["ours"].NsPerOp())/float64(round["floor"].NsPerOp()))
		if f := mbPerSecond(round["floor"]); f > 0 {
			mbpsRatio = append(mbpsRatio, mbPerSecond(round["ours"])/f)
		}
	}
	m := measured{ns: map[string]float64{}, bytes: map[string]float64{}, allocs: map[string]float64{}, mbps: map[string]float64{},
		nsVsFloor: median(nsRatio), mbpsVsFloor: median(mbpsRatio)}
	for _, c := range impls {
		m.ns[c.name] = median(samples["ns"][c.name])
		m.bytes[c.name] = median(samples["bytes"][c.name])
		m.allocs[c.name] = median(samples["allocs"][c.name])
		m.mbps[c.name] = median(samples["mbps"][c.name])
		t.Logf("%-5s %12.0f ns/op %10.0f B/op %6.0f allocs/op %8.1f MB/s", c.name,
			m.ns[c.name], m.bytes[c.name], m.allocs[c.name], m.mbps[c.name])
	}
	return m
}

func mbPerSecond(r testing.BenchmarkResult) float64 {
	if r.Bytes == 0 || r.T == 0 {
		return 0
	}
	return float64(r.Bytes) * float64(r.N) / 1e6 / r.T.Seconds()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestTargets checks the client's performance targets of BENCHMARKS.md, as ratios measured in one
// run. Skipped unless UPLOADS_BENCH_ASSERT=1.
func TestTargets(t *testing.T) {
	skipUnlessAsserting(t)

	t.Run("cancel", func(t *testing.T) {
		m := measure(t, cancelImpls(t), 5)
		t.Logf("ours/floor: %.2fx ns/op, %.2fx allocs/op", m.nsVsFloor, m.allocs["ours"]/m.allocs["floor"])
		if m.nsVsFloor > 1.3 {
			t.Errorf("ns/op is %.2fx the floor's, want at most 1.3x", m.nsVsFloor)
		}
		if r := m.allocs["ours"] / m.allocs["floor"]; r > 1.3 {
			t.Errorf("allocs/op is %.2fx the floor's, want at most 1.3x", r)
		}
		for _, x := range []struct {
			what string
			of   map[string]float64
		}{{"ns/op", m.ns}, {"B/op", m.bytes}, {"allocs/op", m.allocs}} {
			if x.of["ours"] >= x.of["sdk"] {
				t.Errorf("%s: ours %.0f, official SDK %.0f; want below the SDK", x.what, x.of["ours"], x.of["sdk"])
			}
		}
	})

	t.Run("decode", func(t *testing.T) {
		m := measure(t, decodeImpls(t), 3)
		t.Logf("ours/floor: %.2fx ns/op; ours/sdk: %.2fx ns/op", m.nsVsFloor, m.ns["ours"]/m.ns["sdk"])
		if m.allocs["ours"] > m.allocs["floor"] || m.ns["ours"] >= m.ns["sdk"] {
			t.Errorf("decode: ours %.0f ns/op %.0f allocs/op, floor %.0f allocs/op, SDK %.0f ns/op; want the floor's allocations and below the SDK's time",
				m.ns["ours"], m.allocs["ours"], m.allocs["floor"], m.ns["sdk"])
		}
	})

	t.Run("add part", func(t *testing.T) {
		m := measure(t, addPartImpls(t), 3)
		t.Logf("ours/floor: %.2fx MB/s; ours: %.0f B/op", m.mbpsVsFloor, m.bytes["ours"])
		if m.bytes["ours"] >= 1<<20 {
			t.Errorf("a 64 MiB part allocates %.0f bytes, want less than 1 MiB", m.bytes["ours"])
		}
		if m.mbpsVsFloor < 0.8 {
			t.Errorf("MB/s is %.2fx the floor's, want at least 0.8x", m.mbpsVsFloor)
		}
	})
}
