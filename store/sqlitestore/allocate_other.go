//go:build !linux

package sqlitestore

import "os"

// allocate gives f size bytes of disk blocks by writing zeros.
func allocate(f *os.File, size int64) error { return writeZeros(f, size) }
