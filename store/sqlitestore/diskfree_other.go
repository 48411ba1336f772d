//go:build !(linux || darwin || freebsd)

package sqlitestore

import "errors"

// diskFree is not known on this system: the free-space guard is off.
func diskFree(string) (int64, error) {
	return 0, errors.New("free disk space is not known on this system")
}
