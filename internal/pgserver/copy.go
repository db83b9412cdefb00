package pgserver

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
)

// CopyTree copies a directory tree (a stopped server's data directory, a
// base backup, a template), keeping modes and, where this process may set
// them, owners, so that the servers' user can use the copy. Directories are
// made first, then the files are copied by as many workers as there are
// CPUs: a data directory is a thousand small files, and on most file
// systems each costs more to create than to fill. Sockets and other
// special files are left out. The destination must not exist yet or be
// empty; on error it is left as far as it got.
func CopyTree(ctx context.Context, from, to string) error {
	return copyTree(ctx, from, to, nil)
}

// copyTree is CopyTree; with skip, it copies a tree that changes while it
// is copied (a running server's data directory): what skip names is left
// out (a directory's contents, not the directory, when skip says
// skipContents), and files that vanish on the way are no error.
func copyTree(ctx context.Context, from, to string, skip func(rel string) skipKind) error {
	live := skip != nil
	type file struct {
		src, dst string
		info     fs.FileInfo
	}
	var files []file
	var dirs []file
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if live && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		kind := keep
		if live {
			kind = skip(rel)
		}
		if kind == skipAll {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Lstat(path)
		if err != nil {
			if live && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(dst, info.Mode().Perm()|0o700); err != nil {
				return err
			}
			dirs = append(dirs, file{path, dst, info})
			if kind == skipContents {
				return filepath.SkipDir
			}
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
			chownLike(dst, info)
		case info.Mode().IsRegular():
			files = append(files, file{path, dst, info})
		}
		return nil
	})
	if err != nil {
		return err
	}
	work := make(chan file)
	errs := make([]error, runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			for f := range work {
				if errs[i] != nil {
					continue
				}
				if err := copyFile(f.src, f.dst, f.info.Mode().Perm()); err != nil {
					if !(live && errors.Is(err, fs.ErrNotExist)) {
						errs[i] = err
					}
					continue
				}
				chownLike(f.dst, f.info)
			}
		})
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		work <- f
	}
	close(work)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return err
	}
	// Directory modes and owners last: a directory made read-only would
	// refuse its files.
	for _, d := range dirs {
		if err := os.Chmod(d.dst, d.info.Mode().Perm()); err != nil {
			return err
		}
		chownLike(d.dst, d.info)
	}
	return nil
}

// skipKind is what copyTree leaves out of a path.
type skipKind int

const (
	keep         skipKind = iota
	skipAll               // the file, or the directory and all in it
	skipContents          // a directory's contents; the directory is made
)

// chownLike gives dst the owner of the file info describes, when this
// process may (as root); otherwise dst stays this process's.
func chownLike(dst string, info fs.FileInfo) {
	if sys, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		_ = os.Lchown(dst, int(sys.Uid), int(sys.Gid))
	}
}

func copyFile(from, to string, mode os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
