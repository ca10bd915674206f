//go:build linux

package evidencehttp

import (
	"syscall"
	"unsafe"
)

// clockName names the clock now reads.
const clockName = "monotonic"

// now reads CLOCK_MONOTONIC (1 in <time.h>) in nanoseconds: system-wide, unlike Go's
// own monotonic readings, which are offsets from this process's start.
func now() int64 {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		panic(errno)
	}
	return ts.Nano()
}

// cpuTime is the CPU time this process has used so far (getrusage RUSAGE_SELF), in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
