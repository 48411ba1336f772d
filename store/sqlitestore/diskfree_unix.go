//go:build linux || darwin || freebsd

package sqlitestore

import "syscall"

// diskFree reports the bytes of the filesystem holding dir that an unprivileged writer can use.
func diskFree(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil // the field types vary by system
}
