package evidence

import (
	"sort"
	"time"
)

// Spin is the CPU work, the same linear congruential generator as
// python/work.py: pure CPU, no memory traffic. It returns the last value so the
// compiler cannot drop the loop.
func Spin(rounds int64) int64 {
	x := int64(1)
	for i := int64(0); i < rounds; i++ {
		x = (x*1103515245 + 12345) & 0x7FFFFFFF
	}
	return x
}

// Calibration is how many rounds of Spin take the requested time on one core,
// and the best of three timed calls of that many rounds.
type Calibration struct {
	Iterations int64   `json:"iterations"`
	Seconds    float64 `json:"seconds"`
}

// Sink keeps the result of calibration runs alive, so the compiler treats them
// exactly like the handler's calls.
var Sink int64

// medianOf times a few calls of Spin and returns the median.
func medianOf(rounds int64, times int) time.Duration {
	took := make([]time.Duration, times)
	for i := range took {
		start := time.Now()
		Sink += Spin(rounds)
		took[i] = time.Since(start)
	}
	sort.Slice(took, func(a, b int) bool { return took[a] < took[b] })
	return took[times/2]
}

func scale(rounds int64, want, took time.Duration) int64 {
	if n := int64(float64(rounds) * float64(want) / float64(took)); n > 0 {
		return n
	}
	return 1
}

// Calibrate finds the rounds of Spin that take d on one core, as python/work.py
// does: warm the core up (the first half second runs faster, then the clock
// settles), estimate, then up to three corrections from the median of three
// full-length calls, until one call is within 3 % of d.
func Calibrate(d time.Duration) Calibration {
	for warm := time.Now(); time.Since(warm) < 500*time.Millisecond; {
		Sink += Spin(1_000_000)
	}
	rounds := int64(1000)
	took := medianOf(rounds, 1)
	for took < 200*time.Millisecond {
		rounds *= 2
		took = medianOf(rounds, 1)
	}
	iterations := scale(rounds, d, took)
	for i := 0; i < 3; i++ {
		took = medianOf(iterations, 3)
		if diff := took - d; diff <= d*3/100 && -diff <= d*3/100 {
			break
		}
		iterations = scale(iterations, d, took)
	}
	return Calibration{Iterations: iterations, Seconds: medianOf(iterations, 3).Seconds()}
}
