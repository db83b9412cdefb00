package auroratest

import "syscall"

// ramDir is /dev/shm when it is a tmpfs this process can write with at
// least 2 GiB free, else "" (os.TempDir()). Docker gives containers a
// 64 MiB /dev/shm: too small, so not used.
func ramDir() string {
	const (
		dir        = "/dev/shm"
		tmpfsMagic = 0x01021994 // TMPFS_MAGIC, statfs(2)
		wOK, xOK   = 2, 1       // access(2)
	)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Type != tmpfsMagic || st.Bavail*uint64(st.Bsize) < 2<<30 {
		return ""
	}
	if syscall.Access(dir, wOK|xOK) != nil {
		return ""
	}
	return dir
}
