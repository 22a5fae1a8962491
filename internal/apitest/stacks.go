package apitest

import (
	"runtime"
	"strings"
)

// Goroutines is the stack of every goroutine running now, one a string, as
// the runtime prints them: for a test that must wait until a goroutine has
// reached a given call, which nothing else it can see tells it.
func Goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Split(string(buf), "\n\n")
}
