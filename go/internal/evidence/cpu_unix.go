//go:build unix

package evidence

import "syscall"

// CPUTime returns the CPU time this process has used so far, user plus system,
// over all its threads (getrusage RUSAGE_SELF), in nanoseconds. Python's side reads
// time.process_time_ns(), the same total. Linux reports it in microseconds and
// never lets it go backwards.
func CPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
