//go:build !linux

package evidencehttp

import "time"

// clockName names the clock now reads: off Linux the wall clock is the one every
// process agrees on (the Python middleware falls back to it too).
const clockName = "realtime"

func now() int64 { return time.Now().UnixNano() }

// cpuTime is unknown here (-1): the stamps leave the CPU fields out.
func cpuTime() int64 { return -1 }
