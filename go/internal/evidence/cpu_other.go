//go:build !unix

package evidence

// CPUTime returns 0: the standard library reads a process's CPU time only on
// Unix (getrusage). Every stamp is then 0, so a handler shows no CPU rather than
// a made-up number.
func CPUTime() int64 { return 0 }
