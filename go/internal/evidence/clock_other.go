//go:build !linux

package evidence

import "time"

// ClockName names the clock Now reads. Off Linux the wall clock is the one
// clock every process agrees on; Python's side falls back to it as well.
const ClockName = "realtime"

// Now reads the wall clock in nanoseconds.
func Now() int64 { return time.Now().UnixNano() }
