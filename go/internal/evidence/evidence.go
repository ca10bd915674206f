// Package evidence holds what the Go server and client share with the harness:
// the cross-process clock, the process's CPU time, goroutine identity and client
// naming.
package evidence

import (
	"bytes"
	"runtime"
	"strconv"
)

// GoroutineID returns the id of the calling goroutine ("g42"). Go hides it on
// purpose; the harness only needs it as a label to count distinct workers, and
// the first line of runtime.Stack is the documented-enough way to read it.
func GoroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	if i := bytes.IndexByte(buf, ' '); i > 0 {
		buf = buf[:i]
	}
	if _, err := strconv.ParseUint(string(buf), 10, 64); err != nil {
		return "g?"
	}
	return "g" + string(buf)
}

// ClientNames returns n names in spreadsheet-column order: A..Z, AA, AB, ...
// The first five are the article's A..E; the Python clients use the same rule.
func ClientNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		name := ""
		for k := i + 1; k > 0; k = (k - 1) / 26 {
			name = string(rune('A'+(k-1)%26)) + name
		}
		names[i] = name
	}
	return names
}
