package envfile

import (
	"os"
	"strconv"
	"syscall"
)

// Magic numbers of the kernel's own file systems (statfs(2)).
var pseudoMagic = map[int64]bool{
	0x9fa0:     true, // proc
	0x62656572: true, // sysfs
	0x64626720: true, // debugfs
	0x74726163: true, // tracefs
	0x73636673: true, // securityfs
	0x27e0eb:   true, // cgroup
	0x63677270: true, // cgroup2
	0x1cd1:     true, // devpts
	0xcafe4a11: true, // bpf
	0x62656570: true, // configfs
	0xde5e81e4: true, // efivarfs
	0x6165676c: true, // pstore
}

func pseudoFS(f *os.File) bool {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		return true // what cannot be told is not read
	}
	return pseudoMagic[int64(st.Type)]
}

// opened reports whether f is open on path, as the kernel tells it: a
// directory along the path swapped between resolving and opening shows.
func opened(f *os.File, path string) bool {
	got, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return true // no procfs to ask: the checks before stand
	}
	return got == path
}
