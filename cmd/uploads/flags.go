package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/uploadkit/uploads"
)

// sizeUnits are the suffixes a size flag accepts, in bytes. KB, MB and GB are read as binary units, as the API's
// own documentation means them ("64 MB" parts are 64 MiB).
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

// parseSize reads a size such as "8MiB", "512k", "1.5GB" or "1048576" as a number of bytes.
func parseSize(s string) (int64, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	multiplier := int64(1)
	for _, unit := range sizeUnits {
		if strings.HasSuffix(text, unit.suffix) {
			text = strings.TrimSpace(strings.TrimSuffix(text, unit.suffix))
			multiplier = unit.bytes
			break
		}
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		if n < 0 || (n > 0 && multiplier > math.MaxInt64/n) {
			return 0, fmt.Errorf("size %q is out of range", s)
		}
		return n * multiplier, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*float64(multiplier) >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is not a number of bytes (examples: 5242880, 5MiB, 512KiB)", s)
	}
	return int64(f * float64(multiplier)), nil
}

// parseExpiresAfter reads how long after creation the resulting File should expire: a Go duration such as
// "24h" or "90m", or a number of seconds. It returns whole seconds, at least one and few enough to be a
// time.Duration: the client reads a zero duration as no expiry, and a larger count would wrap around.
func parseExpiresAfter(s string) (int64, error) {
	text := strings.TrimSpace(s)
	seconds, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		d, err := time.ParseDuration(text)
		if err != nil {
			return 0, fmt.Errorf("--expires-after %q is neither a duration (24h, 90m) nor a number of seconds", s)
		}
		if d%time.Second != 0 {
			return 0, fmt.Errorf("--expires-after %q is not a whole number of seconds", s)
		}
		seconds = int64(d / time.Second)
	}
	if seconds < 1 || seconds > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("--expires-after %q is not a positive duration (1h to 720h)", s)
	}
	return seconds, nil
}

// formatBytes writes n bytes for people: "12.0 MiB (12582912 bytes)" or "512 bytes".
func formatBytes(n int64) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%s (%d bytes)", shortBytes(n), n)
}

// shortBytes writes n bytes in the largest binary unit that keeps the number at least 1: "1.5 GiB".
func shortBytes(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	value, i := float64(n), 0
	for value >= 1024 && i < len(units)-1 {
		value /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f %s", value, units[i])
}

// purposes are the values --purpose takes, in the order the help lists them.
var purposes = []uploads.Purpose{
	uploads.PurposeAssistants, uploads.PurposeBatch, uploads.PurposeFineTune,
	uploads.PurposeVision, uploads.PurposeUserData, uploads.PurposeEvals,
}

// checkPurpose refuses a --purpose the API does not take, before anything is sent, and suggests the value
// that was probably meant ("finetune", "Fine_Tune" for fine-tune).
func checkPurpose(value string) error {
	if uploads.Purpose(value).Valid() {
		return nil
	}
	names := make([]string, len(purposes))
	for i, p := range purposes {
		names[i] = string(p)
	}
	msg := fmt.Sprintf("--purpose %q is not one of %s", value, strings.Join(names, ", "))
	squash := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '-' || r == '_' || r == ' ' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	for _, name := range names {
		if squash(name) == squash(value) {
			msg += fmt.Sprintf(" (did you mean %s?)", name)
			break
		}
	}
	return usagef("%s", msg)
}
