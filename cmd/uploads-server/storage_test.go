package main

import (
	"io"
	"testing"
)

func TestStorageFlags(t *testing.T) {
	for _, tt := range []struct {
		name           string
		args           []string
		env            map[string]string
		quota, minFree int64
	}{
		{"defaults", nil, nil, 0, 256 << 20},
		{"flags", []string{"-storage-quota", "10GiB", "-min-free-space", "1GiB"}, nil, 10 << 30, 1 << 30},
		{"environment", nil, map[string]string{"UPLOADS_STORAGE_QUOTA": "5MB", "UPLOADS_MIN_FREE_SPACE": "0"}, 5e6, 0},
		{"flags win", []string{"-storage-quota", "1KiB"}, map[string]string{"UPLOADS_STORAGE_QUOTA": "5MB"}, 1 << 10, 256 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.storage.quota != tt.quota || cfg.storage.minFree != tt.minFree {
				t.Errorf("storage = %+v, want quota %d, floor %d", cfg.storage, tt.quota, tt.minFree)
			}
		})
	}
	for _, bad := range [][]string{{"-storage-quota", "lots"}, {"-min-free-space", "-1"}} {
		if _, err := parseConfig(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted it", bad)
		}
	}
	if _, err := parseConfig(nil, func(k string) string {
		if k == "UPLOADS_MIN_FREE_SPACE" {
			return "plenty"
		}
		return ""
	}, io.Discard); err == nil {
		t.Errorf("UPLOADS_MIN_FREE_SPACE=plenty was accepted")
	}
}
