//go:build !linux

package auroratest

// ramDir is "" (os.TempDir()) where no RAM file system is known.
func ramDir() string { return "" }
