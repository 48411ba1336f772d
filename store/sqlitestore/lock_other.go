//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlitestore

import "os"

// lockDir does nothing where flock is not available: the directory must then not be shared by two
// stores, which nothing enforces.
func lockDir(dir string) (*os.File, error) { return nil, nil }
