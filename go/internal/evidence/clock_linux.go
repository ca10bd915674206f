//go:build linux

package evidence

import (
	"syscall"
	"unsafe"
)

// ClockName names the clock Now reads, so the harness can check that every
// process of a run stamped its records on the same one.
const ClockName = "monotonic"

// clockMonotonic is CLOCK_MONOTONIC from <time.h>.
const clockMonotonic = 1

// Now reads CLOCK_MONOTONIC in nanoseconds. Go's own monotonic readings are
// offsets from a process-local start and mean nothing in another process; this
// clock is system-wide, so Go and Python timestamps can be compared.
func Now() int64 {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		panic(errno)
	}
	return ts.Nano()
}
