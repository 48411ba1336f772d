package main

import (
	"flag"
	"fmt"
)

// defaultMinFreeSpace is the free space below which the server takes no new uploads or parts:
// enough for a few parts in flight and the database's own writes.
const defaultMinFreeSpace = 256 << 20

// storageLimits are the flags that keep one key, or all of them, from filling the disk.
type storageLimits struct {
	quota   int64 // bytes each key may keep; 0 for no quota
	minFree int64 // free space floor of the store's disk; 0 for none
}

// registerStorageLimits defines the flags on fs and takes their defaults from the environment; a
// value there that the flag would refuse is an error.
func registerStorageLimits(fs *flag.FlagSet, getenv func(string) string) (*storageLimits, error) {
	l := &storageLimits{minFree: defaultMinFreeSpace}
	fs.Func("storage-quota", "bytes each API key may keep, parts of uploads not completed plus files, such as 10GiB; 0 for no quota (env UPLOADS_STORAGE_QUOTA; default 0)",
		func(v string) error {
			n, err := parseSize(v)
			l.quota = n
			return err
		})
	fs.Func("min-free-space", "free disk space below which new uploads and parts are refused with a 507 that clients retry, such as 1GiB; 0 for no floor; the embedded store only (env UPLOADS_MIN_FREE_SPACE; default 256MiB)",
		func(v string) error {
			n, err := parseSize(v)
			l.minFree = n
			return err
		})
	for _, p := range []struct{ flag, env string }{
		{"storage-quota", "UPLOADS_STORAGE_QUOTA"},
		{"min-free-space", "UPLOADS_MIN_FREE_SPACE"},
	} {
		if v := getenv(p.env); v != "" {
			if err := fs.Set(p.flag, v); err != nil {
				return nil, fmt.Errorf("%s=%q: %w", p.env, v, err)
			}
		}
	}
	return l, nil
}
