// Command server is the article's Go server: http.HandleFunc("/", processRequest)
// and net/http's Serve, which starts one goroutine per connection. processRequest,
// whose body the article leaves out, holds each request for -delay and answers the
// article's JSON plus the evidence the harness needs (pid, goroutine, timestamps,
// the connection's peer port, the process's CPU time).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"concurrency-compare/internal/evidence"
)

// reply is the article's {"hello": ..., "client": ...} plus the evidence fields
// every server of the comparison returns (python/evidence.py builds the same).
// PeerPort is null when the peer's address has no port.
type reply struct {
	Hello      string `json:"hello"`
	Client     string `json:"client"`
	PID        int    `json:"pid"`
	Thread     string `json:"thread"`
	EnterNS    int64  `json:"enter_ns"`
	ExitNS     int64  `json:"exit_ns"`
	CPUEnterNS int64  `json:"cpu_enter_ns"`
	CPUExitNS  int64  `json:"cpu_exit_ns"`
	PeerPort   *int   `json:"peer_port"`
	Clock      string `json:"clock"`
	Handler    string `json:"handler"`
	Work       string `json:"work"`
	Result     int64  `json:"result,omitempty"`
}

var (
	addr     = flag.String("addr", "127.0.0.1:8000", "address to listen on (the article uses :8000; loopback by default)")
	fd       = flag.Int("fd", -1, "serve on this inherited, already listening socket instead of -addr")
	delay    = flag.Duration("delay", time.Second, "how long processRequest holds each request (D)")
	inflight = flag.Int("max-inflight", 0, "hold at most this many requests at once, the rest wait (0: no limit, as net/http)")
	work     = flag.String("work", "wait", "how a request is held: wait (sleep -delay) or cpu (compute -cpu-iterations)")
	rounds   = flag.Int64("cpu-iterations", 0, "rounds of the CPU work per request (see -calibrate)")
	calib    = flag.Duration("calibrate", 0, "print the rounds of CPU work that take this long on one core, as JSON, and exit")
)

// slots bounds concurrent handlers when -max-inflight > 0: a buffered channel
// used as a semaphore, the standard-library answer to "too many goroutines".
var slots chan struct{}

func processRequest(w http.ResponseWriter, r *http.Request) {
	if slots != nil {
		slots <- struct{}{}
		defer func() { <-slots }()
	}
	enter, cpuEnter := evidence.Now(), evidence.CPUTime()
	var result int64
	if *work == "cpu" {
		result = evidence.Spin(*rounds)
	} else {
		time.Sleep(*delay)
	}
	exit, cpuExit := evidence.Now(), evidence.CPUTime()

	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(reply{
		Hello:      "world",
		Client:     r.URL.Query().Get("client"),
		PID:        os.Getpid(),
		Thread:     evidence.GoroutineID(),
		EnterNS:    enter,
		ExitNS:     exit,
		CPUEnterNS: cpuEnter,
		CPUExitNS:  cpuExit,
		PeerPort:   peerPort(r.RemoteAddr),
		Clock:      evidence.ClockName,
		Handler:    "go/server.processRequest",
		Work:       *work,
		Result:     result,
	})
}

// peerPort is the client's TCP source port from RemoteAddr ("127.0.0.1:54321"),
// which tells the harness which connection carried the request; nil if none.
func peerPort(remoteAddr string) *int {
	_, port, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return nil
	}
	return &n
}

func health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, `{"status": "ok"}`)
}

// newServer serves HTTP/1.1 and, since Go 1.24, cleartext HTTP/2 with prior knowledge
// (h2c) on the same socket: a connection that opens with the HTTP/2 preface gets
// HTTP/2, a goroutine per stream; any other gets HTTP/1.1, a goroutine per connection.
func newServer() *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Protocols: &p}
}

func listen() (net.Listener, error) {
	if *fd >= 0 {
		return net.FileListener(os.NewFile(uintptr(*fd), "inherited-listener"))
	}
	return net.Listen("tcp", *addr)
}

func main() {
	flag.Parse()
	if *calib > 0 {
		json.NewEncoder(os.Stdout).Encode(evidence.Calibrate(*calib))
		return
	}
	if *delay < 0 {
		log.Fatalf("-delay must not be negative, got %v", *delay)
	}
	if *work != "wait" && *work != "cpu" {
		log.Fatalf("-work must be wait or cpu, got %q", *work)
	}
	if *inflight > 0 {
		slots = make(chan struct{}, *inflight)
	}
	http.HandleFunc("/", processRequest)
	http.HandleFunc("/health", health)

	ln, err := listen()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s (work %s, delay %v, cpu-iterations %d, max-inflight %d)\n",
		ln.Addr(), *work, *delay, *rounds, *inflight)
	if err := newServer().Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
