//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlitestore

import "os"

// canLockDir is whether lockDir takes a real lock on this system.
const canLockDir = false

// lockDir does nothing where flock is not available: the directory must then not be shared by two
// stores, which nothing enforces.
func lockDir(dir string) (*os.File, error) { return nil, nil }
