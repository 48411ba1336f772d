package sqlitestore

// syncDir does nothing on Windows, which cannot sync a directory handle; NTFS journals its
// directory entries itself.
func syncDir(dir string) error { return nil }
