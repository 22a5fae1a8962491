//go:build unix

package envfile

import (
	"os"
	"syscall"
)

// openNoFollow opens path for reading without blocking, so a FIFO opens at
// once (and is then refused as not regular) instead of waiting for a
// writer, and without following a symbolic link in its last element.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
