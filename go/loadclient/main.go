// Command loadclient is an open-loop load generator: it sends GET requests on a
// schedule fixed in advance (a constant rate or Poisson arrivals, like k6's
// constant-arrival-rate, wrk2 -R or vegeta -rate) by a pool of sender goroutines
// that grows when every sender is busy, and never holds a request back because earlier answers are slow. Latency is counted
// from the time a request was meant to leave, so a stall anywhere (server or
// client) shows up in the latency instead of thinning out the samples
// (no coordinated omission).
//
// stdout is JSON Lines: one object per request in schedule order, then one
// {"summary": {...}} line. Everything for humans goes to stderr. See README.md.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"concurrency-compare/internal/evidence"
)

// maxScheduled bounds the schedule so a typo in -rate or -duration cannot
// allocate millions of records.
const maxScheduled = 2_000_000

// Error strings the harness can match on.
const (
	errCap     = "client cap reached"
	errTimeout = "no answer within timeout"
)

// config is the parsed command line.
type config struct {
	URL           string
	Rate          float64
	Duration      time.Duration
	Warmup        time.Duration
	Arrivals      string
	Seed          int64
	Timeout       time.Duration
	LateTolerance time.Duration
	MaxInFlight   int
	Lead          time.Duration // how far in the future the schedule starts
	EchoOptional  bool          // a server the harness did not start: the name must come back only where one is echoed
	HTTP2         bool          // h2c with prior knowledge: requests as streams of one or a few connections
}

// record is one request, one JSON line. Every key is always present; null means
// "did not happen" (sent_ns: never sent; recv_ns: no answer or error observed).
type record struct {
	Name         string `json:"name"`
	Index        int    `json:"index"`
	Warmup       bool   `json:"warmup"`
	IntendedNS   int64  `json:"intended_ns"`
	SentNS       *int64 `json:"sent_ns"`
	RecvNS       *int64 `json:"recv_ns"`
	LatencyNS    *int64 `json:"latency_ns"`  // recv_ns - intended_ns
	LatenessNS   *int64 `json:"lateness_ns"` // sent_ns - intended_ns
	Late         bool   `json:"late"`
	Status       int    `json:"status"`
	ServerClosed bool   `json:"server_closed"`
	Error        string `json:"error"`
	// Proto is the protocol the server answered with (resp.Proto, "HTTP/1.1", "HTTP/2.0"); "" without an answer.
	Proto string          `json:"proto"`
	Body  json.RawMessage `json:"body"`
	// EvidenceHeader is the server's Concurrency-Evidence header, raw, when it sent one.
	EvidenceHeader *string `json:"evidence_header,omitempty"`
}

// summary is the last line, {"summary": {...}}. Counts without a warmup_ prefix
// are the counted part only.
type summary struct {
	URL             string  `json:"url"`
	Rate            float64 `json:"rate"`
	Arrivals        string  `json:"arrivals"`
	Seed            int64   `json:"seed"`
	DurationNS      int64   `json:"duration_ns"`
	WarmupNS        int64   `json:"warmup_ns"`
	TimeoutNS       int64   `json:"timeout_ns"`
	LateToleranceNS int64   `json:"late_tolerance_ns"`
	MaxInFlight     int     `json:"max_in_flight"`
	StartNS         int64   `json:"start_ns"`
	CountedStartNS  int64   `json:"counted_start_ns"`
	CountedEndNS    int64   `json:"counted_end_ns"`
	SendsEndNS      int64   `json:"sends_end_ns"`
	EndNS           int64   `json:"end_ns"`
	Scheduled       int     `json:"scheduled"`
	Sent            int     `json:"sent"`
	Completed       int     `json:"completed"`
	Failed          int     `json:"failed"`
	CapReached      int     `json:"cap_reached"`
	TimedOut        int     `json:"timed_out"`
	LateSends       int     `json:"late_sends"`
	MaxLatenessNS   int64   `json:"max_lateness_ns"`
	WarmupScheduled int     `json:"warmup_scheduled"`
	WarmupCompleted int     `json:"warmup_completed"`
	WarmupFailed    int     `json:"warmup_failed"`
	PeakInFlight    int64   `json:"peak_in_flight"`
	CPUNS           int64   `json:"cpu_ns"`
	CountedCPUNS    int64   `json:"counted_cpu_ns"`
	WallNS          int64   `json:"wall_ns"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	Clock           string  `json:"clock"`
	HTTP2           bool    `json:"http2"`
	// Protocols counts the counted answers by the protocol the server answered with, so a
	// server that falls back to HTTP/1.1 under -http2 is named, never counted as HTTP/2.
	Protocols map[string]int `json:"protocols"`
}

// parseFlags reads the command line; any error is meant for a one-line message
// and exit status 2.
func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("loadclient", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8000/", "server URL; ?client=<name> is appended")
	fs.Float64Var(&c.Rate, "rate", 100, "requests per second (> 0)")
	fs.DurationVar(&c.Duration, "duration", 2*time.Second, "length of the counted part of the schedule")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "sent first at the same rate, marked warmup, not counted")
	fs.StringVar(&c.Arrivals, "arrivals", "constant", "constant (gaps of 1/rate) or poisson (exponential gaps)")
	fs.Int64Var(&c.Seed, "seed", 1, "random seed of the poisson schedule")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout, also the longest wait for answers after the last send")
	fs.DurationVar(&c.LateTolerance, "late-tolerance", 10*time.Millisecond, "a send later than this after its intended time is late (client lag)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 10000, "safety cap on outstanding requests; past it a request fails with \""+errCap+"\"")
	fs.BoolVar(&c.EchoOptional, "echo-optional", false, "accept an answer that echoes no client name (a --target); one that echoes another is still an error")
	fs.BoolVar(&c.HTTP2, "http2", false, "HTTP/2 with prior knowledge over http:// (h2c): requests as streams of one or a few connections")
	fs.DurationVar(&c.Lead, "lead", 100*time.Millisecond, "the schedule starts this long after setup")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate <= 0:
		return fmt.Errorf("-rate must be a finite number > 0, got %v", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("-duration must be > 0, got %v", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("-warmup must not be negative, got %v", c.Warmup)
	case c.Arrivals != "constant" && c.Arrivals != "poisson":
		return fmt.Errorf("-arrivals must be constant or poisson, got %q", c.Arrivals)
	case c.Timeout <= 0:
		return fmt.Errorf("-timeout must be > 0, got %v", c.Timeout)
	case c.LateTolerance < 0:
		return fmt.Errorf("-late-tolerance must not be negative, got %v", c.LateTolerance)
	case c.MaxInFlight < 1:
		return fmt.Errorf("-max-in-flight must be at least 1, got %d", c.MaxInFlight)
	case c.Lead < 0:
		return fmt.Errorf("-lead must not be negative, got %v", c.Lead)
	}
	if n := c.Rate * (c.Warmup + c.Duration).Seconds(); n > maxScheduled {
		return fmt.Errorf("-rate x (-warmup + -duration) is %.0f requests, more than %d", n, maxScheduled)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("-url: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url must be http(s)://host[:port]/..., got %q", c.URL)
	}
	return nil
}

// schedule returns the intended send times as offsets in ns from the start of
// the schedule, covering [0, total): i/rate for constant arrivals, cumulative
// exponential gaps of mean 1/rate from math/rand seeded with seed for poisson
// (math/rand's seeded sequence is stable across Go releases).
func schedule(arrivals string, rate float64, total time.Duration, seed int64) []int64 {
	end := float64(total.Nanoseconds())
	gap := 1e9 / rate
	var offs []int64
	switch arrivals {
	case "constant":
		for i := 0; i < maxScheduled; i++ {
			t := float64(i) * gap
			if t >= end {
				break
			}
			offs = append(offs, int64(math.Round(t)))
		}
	case "poisson":
		r := rand.New(rand.NewSource(seed))
		t := r.ExpFloat64() * gap
		for i := 0; i < maxScheduled && t < end; i++ {
			offs = append(offs, int64(math.Round(t)))
			t += r.ExpFloat64() * gap
		}
	}
	return offs
}

// endpoint is the user's request from HARNESS_REQUEST (nil: the article's GET ?client=NAME).
var endpoint *evidence.Endpoint

// requestName is the per-request client name the server echoes: r000000, ...
func requestName(i int) string { return fmt.Sprintf("r%06d", i) }

// newHTTPClient reuses connections without any cap: every request that finds no
// idle connection dials a new one, and all are kept, so a slow answer never
// makes another request wait for a connection. With http2 it speaks h2c with
// prior knowledge: requests are streams of one connection, and Go's transport
// dials another only when a connection's stream limit (the server's
// SETTINGS_MAX_CONCURRENT_STREAMS) is reached.
func newHTTPClient(timeout time.Duration, http2 bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit
	t.MaxIdleConnsPerHost = 10000
	t.MaxConnsPerHost = 0
	t.IdleConnTimeout = 0
	if http2 {
		// Only UnencryptedHTTP2 (as go/client): with HTTP1 also set, http:// URLs would stay on HTTP/1.1.
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return &http.Client{Timeout: timeout, Transport: t}
}

func ptr(v int64) *int64 { return &v }

// isTimeout tells a request that ran out of time from other failures.
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// send does one request and returns its record; sent is stored the moment the
// request leaves, so an abandoned request still shows when it was sent.
func send(c *http.Client, base string, rec record, sent *int64, echoOptional bool) record {
	var req *http.Request
	var err error
	if endpoint != nil {
		req, err = endpoint.NewRequest(base)
	} else if req, err = http.NewRequest(http.MethodGet, base+"client="+url.QueryEscape(rec.Name), nil); err == nil {
		req.Header.Set(evidence.Header, "1")
	}
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	now := evidence.Now()
	atomic.StoreInt64(sent, now)
	rec.SentNS = ptr(now)
	resp, err := c.Do(req)
	if err != nil {
		return failed(rec, err)
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.Proto = resp.Proto
	rec.ServerClosed = resp.Close
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return failed(rec, err)
	}
	recv := evidence.Now()
	rec.RecvNS = ptr(recv)
	if v := resp.Header.Values(evidence.Header); len(v) > 0 {
		joined := strings.Join(v, ", ")
		rec.EvidenceHeader = &joined
	}
	if endpoint != nil { // a user's endpoint: its expected statuses, any body
		if !endpoint.Accepts(resp.StatusCode) {
			rec.Error = fmt.Sprintf("HTTP status %d", resp.StatusCode)
		}
		if len(body) <= evidence.MaxPassedBody && json.Valid(body) {
			rec.Body = body
		}
		return rec
	}
	var echo struct {
		Client string `json:"client"`
	}
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		rec.Error = fmt.Sprintf("HTTP status %d", resp.StatusCode)
	case json.Unmarshal(body, &echo) != nil:
		rec.Error = fmt.Sprintf("body is not JSON: %.200q", body)
		return rec
	case echo.Client != rec.Name && !(echoOptional && echo.Client == ""):
		rec.Error = fmt.Sprintf("server echoed client %q", echo.Client)
	}
	if json.Valid(body) {
		rec.Body = body
	}
	return rec
}

// failed fills in a request that got no answer: a timeout is reported with the
// same words as a request abandoned at the end of the run.
func failed(rec record, err error) record {
	if isTimeout(err) {
		rec.Error = errTimeout
		return rec
	}
	rec.RecvNS = ptr(evidence.Now())
	rec.Error = err.Error()
	return rec
}

// run executes the whole schedule and returns the records in schedule order and
// the summary. It returns at most about -timeout after the last send.
func run(cfg config, c *http.Client) ([]record, summary) {
	total := cfg.Warmup + cfg.Duration
	offs := schedule(cfg.Arrivals, cfg.Rate, total, cfg.Seed)
	n := len(offs)
	base := cfg.URL
	if endpoint == nil { // the article's request: ?client=NAME is appended
		if strings.Contains(base, "?") {
			base += "&"
		} else {
			base += "?"
		}
	}

	records := make([]record, n)
	for i, off := range offs {
		records[i] = record{Name: requestName(i), Index: i, Warmup: off < cfg.Warmup.Nanoseconds()}
	}
	sent := make([]int64, n) // written atomically by the senders
	var (
		mu        sync.Mutex
		done      int
		abandoned bool
		finished  = make(chan struct{})
		inFlight  atomic.Int64
		peak      int64
	)
	if n == 0 {
		close(finished)
	}
	finish := func(i int, rec record) {
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			return
		}
		records[i] = rec
		if done++; done == n {
			close(finished)
		}
	}

	cpu0 := evidence.CPUTime()
	start := evidence.Now() + cfg.Lead.Nanoseconds()
	countedStart := start + cfg.Warmup.Nanoseconds()
	countedCPU := int64(-1)
	for i := range records {
		records[i].IntendedNS = start + offs[i]
	}
	// A pool of sender goroutines started before the schedule: the dispatcher
	// hands each due request to an idle sender, and starts one more only when
	// none is idle (so a slow server never delays a send, and the hot path
	// spawns nothing in the steady state).
	work := make(chan int)
	sender := func() {
		for i := range work {
			finish(i, send(c, base, records[i], &sent[i], cfg.EchoOptional))
			inFlight.Add(-1)
		}
	}
	senders := min(cfg.MaxInFlight, initialSenders(cfg.Rate))
	for j := 0; j < senders; j++ {
		go sender()
	}
	for i := 0; i < n; i++ {
		target := records[i].IntendedNS
		if d := target - evidence.Now(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		if countedCPU < 0 && !records[i].Warmup {
			countedCPU = evidence.CPUTime()
		}
		if inFlight.Load() >= int64(cfg.MaxInFlight) {
			rec := records[i]
			rec.Error = errCap
			finish(i, rec)
			continue
		}
		if f := inFlight.Add(1); f > peak {
			peak = f
		}
		select {
		case work <- i:
		default: // every sender is busy: one more joins the pool
			senders++
			go sender()
			work <- i
		}
	}
	close(work)
	sendsEnd := evidence.Now()
	if countedCPU < 0 {
		countedCPU = evidence.CPUTime()
	}

	wait := time.NewTimer(cfg.Timeout)
	select {
	case <-finished:
	case <-wait.C:
	}
	wait.Stop()
	mu.Lock()
	abandoned = true
	out := make([]record, n)
	copy(out, records)
	mu.Unlock()
	end := evidence.Now()
	cpu := evidence.CPUTime()

	s := summary{
		URL: cfg.URL, Rate: cfg.Rate, Arrivals: cfg.Arrivals, Seed: cfg.Seed,
		DurationNS: cfg.Duration.Nanoseconds(), WarmupNS: cfg.Warmup.Nanoseconds(),
		TimeoutNS: cfg.Timeout.Nanoseconds(), LateToleranceNS: cfg.LateTolerance.Nanoseconds(),
		MaxInFlight: cfg.MaxInFlight, StartNS: start, CountedStartNS: countedStart,
		CountedEndNS: start + total.Nanoseconds(), SendsEndNS: sendsEnd, EndNS: end,
		PeakInFlight: peak, CPUNS: cpu - cpu0, CountedCPUNS: cpu - countedCPU,
		WallNS: end - start, GOMAXPROCS: runtime.GOMAXPROCS(0), Clock: evidence.ClockName,
		HTTP2: cfg.HTTP2, Protocols: map[string]int{},
	}
	for i := range out {
		r := &out[i]
		if r.SentNS == nil && r.Error == "" {
			// abandoned before it was recorded: still outstanding at the end
			r.Error = errTimeout
			if t := atomic.LoadInt64(&sent[i]); t != 0 {
				r.SentNS = ptr(t)
			}
		}
		if r.SentNS != nil {
			r.LatenessNS = ptr(*r.SentNS - r.IntendedNS)
			r.Late = *r.LatenessNS > cfg.LateTolerance.Nanoseconds()
		}
		if r.RecvNS != nil {
			r.LatencyNS = ptr(*r.RecvNS - r.IntendedNS)
		}
		if r.Warmup {
			s.WarmupScheduled++
			if r.Error == "" {
				s.WarmupCompleted++
			} else {
				s.WarmupFailed++
			}
			continue
		}
		s.Scheduled++
		if r.Proto != "" {
			s.Protocols[r.Proto]++
		}
		if r.SentNS != nil {
			s.Sent++
			if r.Late {
				s.LateSends++
			}
			s.MaxLatenessNS = max(s.MaxLatenessNS, *r.LatenessNS)
		}
		switch r.Error {
		case "":
			s.Completed++
			continue
		case errCap:
			s.CapReached++
		case errTimeout:
			s.TimedOut++
		}
		s.Failed++
	}
	return out, s
}

// initialSenders is the pool started before the schedule: enough for the
// requests in flight at the rate for 0.2 s, at least 64.
func initialSenders(rate float64) int {
	return max(64, int(math.Ceil(rate*0.2)))
}

// settledNS is when a counted request ended, answered or not: its answer or
// failure, a timeout at its send plus the timeout (at most the end), a request
// never sent at its intended time. Failures count in the latency percentiles
// at this time, as k6 and vegeta count them (the harness does the same).
func settledNS(r record, s summary) int64 {
	switch {
	case r.RecvNS != nil:
		return *r.RecvNS
	case r.Error == errTimeout && r.SentNS != nil:
		return min(*r.SentNS+s.TimeoutNS, s.EndNS)
	case r.Error == errTimeout:
		return s.EndNS
	case r.SentNS != nil:
		return *r.SentNS
	}
	return r.IntendedNS
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// minSamples is the fewest samples that put at least one above the p-th
// percentile, 1/(1-p): 2 for p50, 100 for p99 (the harness's report uses the same).
func minSamples(p float64) int {
	if p >= 100 {
		return 1
	}
	return max(1, int(math.Round(1/(1-p/100))))
}

// percentileText is the percentile in ms, or "-" when there are too few samples to tell it.
func percentileText(sorted []int64, p float64) string {
	if len(sorted) < minSamples(p) {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(percentile(sorted, p))/1e6)
}

// protocolsText is the counted answers by protocol, e.g. "HTTP/2.0 500", sorted by name.
func protocolsText(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %d", name, counts[name])
	}
	return strings.Join(parts, ", ")
}

// describe is the human summary on stderr.
func describe(recs []record, s summary) string {
	var lat []int64
	for _, r := range recs {
		if !r.Warmup {
			lat = append(lat, settledNS(r, s)-r.IntendedNS)
		}
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return fmt.Sprintf("loadclient: %s %.6g/s for %v (+%v warmup): %d scheduled, %d sent, %d completed, %d failed "+
		"(%d cap, %d timeout); late sends %d (max %.3f ms); latency from intended (failures included) p50 %s p90 %s p99 %s max %s ms; "+
		"peak in flight %d; answered over %s; client CPU %.3f s over %.3f s",
		s.Arrivals, s.Rate, time.Duration(s.DurationNS), time.Duration(s.WarmupNS), s.Scheduled, s.Sent,
		s.Completed, s.Failed, s.CapReached, s.TimedOut, s.LateSends, ms(s.MaxLatenessNS),
		percentileText(lat, 50), percentileText(lat, 90), percentileText(lat, 99), percentileText(lat, 100),
		s.PeakInFlight, protocolsText(s.Protocols), float64(s.CPUNS)/1e9, float64(s.WallNS)/1e9)
}

// write prints the records and the summary as JSON Lines.
func write(w io.Writer, recs []record, s summary) error {
	enc := json.NewEncoder(w)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return err
		}
	}
	return enc.Encode(struct {
		Summary summary `json:"summary"`
	}{s})
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadclient:", err)
		os.Exit(2)
	}
	if endpoint, err = evidence.EndpointFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "loadclient:", err)
		os.Exit(2)
	}
	recs, s := run(cfg, newHTTPClient(cfg.Timeout, cfg.HTTP2))
	out := bufio.NewWriter(os.Stdout)
	if err := write(out, recs, s); err != nil {
		fmt.Fprintln(os.Stderr, "loadclient: writing output:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "loadclient: writing output:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, describe(recs, s))
}
