//go:build !linux

package envfile

import "os"

// pseudoFS reports whether f is on a kernel file system; only Linux has
// procfs files that pass for regular ones.
func pseudoFS(*os.File) bool { return false }

// opened reports whether f is open on path; only Linux can tell.
func opened(*os.File, string) bool { return true }
