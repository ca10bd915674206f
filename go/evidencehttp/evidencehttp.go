// Package evidencehttp tells a load tester which process and goroutine served each
// request, and when: an http.Handler wrapper, standard library only, with no
// dependency on the harness that reads it.
//
//	http.ListenAndServe(":8080", evidencehttp.Wrap(mux))
//
// Only when asked: a request that carries the header "Concurrency-Evidence: 1"
// (every client of the harness sends it) gets two more response headers; every
// other request passes through untouched, so nothing about processes or goroutines
// reaches ordinary traffic. The operator switches it off with the environment
// variable CONCURRENCY_EVIDENCE=off, or restricts it to requests that send a
// secret with CONCURRENCY_EVIDENCE_TOKEN=s3cret (they must send
// "Concurrency-Evidence: s3cret"); Options sets both in code instead. The
// environment is read once, by Wrap.
//
// The response header, stamped as the request enters the wrapped handler and as
// its response headers are written (or as it returns, if it writes nothing):
//
//	Concurrency-Evidence: v=1;pid=4242;thread=g77;enter_ns=…;exit_ns=…;cpu_enter_ns=…;cpu_exit_ns=…;clock=monotonic;layer=go
//
// v is the format's version (1); pid the serving process; thread "g" + the
// goroutine id; enter_ns and exit_ns nanoseconds on clock ("monotonic" is Linux's
// system-wide CLOCK_MONOTONIC, which Python's time.monotonic and the harness's
// clients read too, so stamps of every process of the host share one time line;
// "realtime" elsewhere); cpu_enter_ns and cpu_exit_ns the process's CPU time (user +
// system, all threads), left out where the OS does not give it; layer "go". Pairs
// are key=value joined by ";"; readers ignore keys they do not know. The hold time
// is also a W3C Server-Timing entry: app;dur=500.123;desc="concurrency-evidence"
// (milliseconds), added beside any the handler sets. The same format is written by
// the Python middleware (middleware/concurrency_evidence.py in the repository).
//
// To use it from another module, copy this folder (three files) into it, or point
// a replace directive at a checkout: "replace concurrency-compare => ../path/go".
package evidencehttp

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Header is the request header that asks for evidence and the response header that carries it.
const Header = "Concurrency-Evidence"

// Version is the version of the header's format.
const Version = 1

// Options decides which requests get evidence.
type Options struct {
	// Disabled: no request gets evidence (CONCURRENCY_EVIDENCE=off).
	Disabled bool
	// Token: only requests whose Concurrency-Evidence header is this value get
	// evidence; empty means "1" (CONCURRENCY_EVIDENCE_TOKEN).
	Token string
}

// OptionsFromEnv reads CONCURRENCY_EVIDENCE and CONCURRENCY_EVIDENCE_TOKEN.
func OptionsFromEnv() Options {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CONCURRENCY_EVIDENCE"))) {
	case "0", "off", "false", "no":
		return Options{Disabled: true}
	}
	return Options{Token: os.Getenv("CONCURRENCY_EVIDENCE_TOKEN")}
}

// Wrap adds evidence to h's responses, configured from the environment.
func Wrap(h http.Handler) http.Handler { return OptionsFromEnv().Wrap(h) }

// Wrap adds evidence to h's responses to the requests that ask for it.
func (o Options) Wrap(h http.Handler) http.Handler {
	want := o.Token
	if want == "" {
		want = "1"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Disabled || strings.TrimSpace(r.Header.Get(Header)) != want {
			h.ServeHTTP(w, r)
			return
		}
		sw := &stampingWriter{ResponseWriter: w, enter: now(), cpuEnter: cpuTime(), thread: goroutineID()}
		h.ServeHTTP(sw, r)
		sw.stamp() // a handler that wrote nothing: net/http sends 200 after this
	})
}

// stampingWriter adds the headers just before the wrapped handler's headers go out.
type stampingWriter struct {
	http.ResponseWriter
	enter, cpuEnter int64
	thread          string
	done            bool
}

func (s *stampingWriter) stamp() {
	if s.done {
		return
	}
	s.done = true
	exit, cpuExit := now(), cpuTime()
	var b strings.Builder
	fmt.Fprintf(&b, "v=%d;pid=%d;thread=%s;enter_ns=%d;exit_ns=%d", Version, os.Getpid(), s.thread, s.enter, exit)
	if s.cpuEnter >= 0 && cpuExit >= 0 {
		fmt.Fprintf(&b, ";cpu_enter_ns=%d;cpu_exit_ns=%d", s.cpuEnter, cpuExit)
	}
	fmt.Fprintf(&b, ";clock=%s;layer=go", clockName)
	h := s.ResponseWriter.Header()
	h.Set(Header, b.String())
	h.Add("Server-Timing", fmt.Sprintf(`app;dur=%.3f;desc="concurrency-evidence"`, float64(exit-s.enter)/1e6))
}

func (s *stampingWriter) WriteHeader(code int) {
	if code >= 200 { // 1xx informational responses are not the answer
		s.stamp()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *stampingWriter) Write(p []byte) (int, error) {
	s.stamp()
	return s.ResponseWriter.Write(p)
}

// Flush passes a streaming handler's flush through (after the headers are stamped).
func (s *stampingWriter) Flush() {
	s.stamp()
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's own writer.
func (s *stampingWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// goroutineID is the calling goroutine's id ("g42"), read from the first line of
// runtime.Stack: Go hides it on purpose, and it is only a label here.
func goroutineID() string {
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
