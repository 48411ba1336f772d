package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/uploadkit/uploads/server"
)

// misbehaviour is what the flags that make the server misbehave on purpose say: rate limits and
// injected faults, to test clients against.
type misbehaviour struct {
	rpm        int
	partBytes  int64
	faults     string
	seed       uint64
	ops        string
	header     bool
	slowDelay  time.Duration
	retryAfter time.Duration
}

// misbehaviourEnv pairs each flag with its environment variable.
var misbehaviourEnv = []struct{ flag, env string }{
	{"rate-limit-rpm", "UPLOADS_RATE_LIMIT_RPM"},
	{"rate-limit-part-bytes", "UPLOADS_RATE_LIMIT_PART_BYTES"},
	{"faults", "UPLOADS_FAULTS"},
	{"faults-seed", "UPLOADS_FAULTS_SEED"},
	{"faults-ops", "UPLOADS_FAULTS_OPS"},
	{"faults-header", "UPLOADS_FAULTS_HEADER"},
	{"faults-slow-delay", "UPLOADS_FAULTS_SLOW_DELAY"},
	{"faults-retry-after", "UPLOADS_FAULTS_RETRY_AFTER"},
}

// registerMisbehaviour defines the flags on fs and takes their defaults from the environment;
// a value there that the flag would refuse is an error.
func registerMisbehaviour(fs *flag.FlagSet, getenv func(string) string) (*misbehaviour, error) {
	m := &misbehaviour{slowDelay: server.DefaultFaultSlowDelay, retryAfter: server.DefaultFaultRetryAfter}
	fs.IntVar(&m.rpm, "rate-limit-rpm", 0, "requests per minute each API key may make; 0 for no limit (env UPLOADS_RATE_LIMIT_RPM)")
	fs.Func("rate-limit-part-bytes", "bytes of parts (the data field's content, not the form) each API key may send per minute, such as 500MiB; a larger part is refused; 0 for no limit (env UPLOADS_RATE_LIMIT_PART_BYTES)",
		func(v string) error {
			n, err := parseSize(v)
			m.partBytes = n
			return err
		})
	fs.StringVar(&m.faults, "faults", "", "faults to inject into API answers: KIND:PERCENT,... with KIND one of 429, 500, 502, 503, reset, reset-after, slow (env UPLOADS_FAULTS)")
	fs.Uint64Var(&m.seed, "faults-seed", 0, "seed of the random faults, to repeat a run; 0 picks one and prints it (env UPLOADS_FAULTS_SEED)")
	fs.StringVar(&m.ops, "faults-ops", "", "operations the random faults apply to, such as addUploadPart,completeUpload; empty for all (env UPLOADS_FAULTS_OPS)")
	fs.BoolVar(&m.header, "faults-header", false, "honour the "+server.FaultHeader+" request header, which asks for one fault (env UPLOADS_FAULTS_HEADER)")
	fs.DurationVar(&m.slowDelay, "faults-slow-delay", m.slowDelay, "how long a slow fault holds a request (env UPLOADS_FAULTS_SLOW_DELAY)")
	fs.DurationVar(&m.retryAfter, "faults-retry-after", m.retryAfter, "the wait an injected 429 asks for (env UPLOADS_FAULTS_RETRY_AFTER)")
	for _, p := range misbehaviourEnv {
		if v := getenv(p.env); v != "" {
			if err := fs.Set(p.flag, v); err != nil {
				return nil, fmt.Errorf("%s=%q: %w", p.env, v, err)
			}
		}
	}
	return m, nil
}

// settings turns the parsed flags into the server's settings, picking a seed when none was given
// and there are random faults.
func (m *misbehaviour) settings() (server.RateLimit, server.Faults, error) {
	limit := server.RateLimit{RequestsPerMinute: m.rpm, PartBytesPerMinute: m.partBytes}
	if m.rpm < 0 {
		return limit, server.Faults{}, fmt.Errorf("-rate-limit-rpm %d: want 0 or more", m.rpm)
	}
	rules, err := server.ParseFaults(m.faults)
	if err != nil {
		return limit, server.Faults{}, fmt.Errorf("-faults: %w", err)
	}
	f := server.Faults{
		Rules: rules, Seed: m.seed, AllowHeader: m.header, SlowDelay: m.slowDelay, RetryAfter: m.retryAfter,
	}
	if m.slowDelay <= 0 || m.retryAfter <= 0 {
		return limit, f, fmt.Errorf("-faults-slow-delay and -faults-retry-after must be above 0")
	}
	for op := range strings.SplitSeq(m.ops, ",") {
		if op = strings.TrimSpace(op); op != "" {
			f.Operations = append(f.Operations, op)
		}
	}
	if len(f.Operations) > 0 && len(rules) == 0 {
		return limit, f, fmt.Errorf("-faults-ops without -faults: there are no random faults to limit")
	}
	if len(rules) > 0 && f.Seed == 0 {
		for f.Seed == 0 {
			f.Seed = rand.Uint64()
		}
	}
	return limit, f, nil
}

// describe says what misbehaviour is on, for the start-up lines; "" when none.
func describe(limit server.RateLimit, f server.Faults) []string {
	var lines []string
	if limit.RequestsPerMinute > 0 || limit.PartBytesPerMinute > 0 {
		var parts []string
		if limit.RequestsPerMinute > 0 {
			parts = append(parts, fmt.Sprintf("%d requests", limit.RequestsPerMinute))
		}
		if limit.PartBytesPerMinute > 0 {
			parts = append(parts, fmt.Sprintf("%d part bytes", limit.PartBytesPerMinute))
		}
		lines = append(lines, "rate limit per API key and minute: "+strings.Join(parts, ", "))
	}
	if len(f.Rules) > 0 {
		var rules []string
		for _, r := range f.Rules {
			rules = append(rules, fmt.Sprintf("%s:%g%%", r.Kind, r.Percent))
		}
		where := "every operation"
		if len(f.Operations) > 0 {
			where = strings.Join(f.Operations, ", ")
		}
		lines = append(lines, fmt.Sprintf("injecting faults %s into %s (seed %d: repeat with -faults-seed %d)",
			strings.Join(rules, ","), where, f.Seed, f.Seed))
	}
	if f.AllowHeader {
		lines = append(lines, "honouring the "+server.FaultHeader+" request header")
	}
	return lines
}

// parseSize reads a count of bytes: a whole number, optionally followed by KiB, MiB or GiB
// (powers of 1024) or KB, MB or GB (powers of 1000).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		scale  int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	scale := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, scale = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/scale {
		return 0, fmt.Errorf("%q is not a size in bytes, such as 500MiB", s)
	}
	return n * scale, nil
}
