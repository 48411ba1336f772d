package main

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"4KiB", 4 << 10, false},
		{"4 kib", 4 << 10, false},
		{"512k", 512 << 10, false},
		{"64MB", 64 << 20, false},
		{"64MiB", 64 << 20, false},
		{"1.5GiB", 3 << 29, false},
		{"2g", 2 << 30, false},
		{"100b", 100, false},
		{"0", 0, false},
		{"", 0, true},
		{"lots", 0, true},
		{"-1", 0, true},
		{"-1MiB", 0, true},
		{"MiB", 0, true},
		{"NaN", 0, true},
		{"99999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseExpiresAfter(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"3600", 3600, false},
		{"24h", 86400, false},
		{"90m", 5400, false},
		{"1h30m", 5400, false},
		{"1.5s", 0, true},
		{"0", 0, true},  // zero would read as no expiry at all
		{"0s", 0, true}, // likewise
		{"-3600", 0, true},
		{"36028797018967568", 0, true}, // 2^55+3600 seconds: as nanoseconds it wraps to exactly one hour
		{"soon", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseExpiresAfter(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseExpiresAfter(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 bytes"},
		{1023, "1023 bytes"},
		{1024, "1.0 KiB (1024 bytes)"},
		{5 << 30, "5.0 GiB (5368709120 bytes)"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.in); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
