//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// canLockDir is whether lockDir takes a real lock on this system.
const canLockDir = true

// lockDir takes an exclusive lock on directory dir, held until the returned file is closed, so
// that two stores never share one directory: Open's orphan removal would delete the parts the
// other is writing.
func lockDir(dir string) (*os.File, error) {
	path := dir + string(os.PathSeparator) + "lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("directory %s is in use by another store (lock file %s)", dir, path)
		}
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	return f, nil
}
