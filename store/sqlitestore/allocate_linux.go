package sqlitestore

import (
	"errors"
	"os"
	"syscall"
)

// allocate gives f size bytes of disk blocks at once, without writing them, where the filesystem
// can (fallocate); elsewhere it writes zeros.
func allocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return writeZeros(f, size)
	}
	return err
}
