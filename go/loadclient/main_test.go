package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"concurrency-compare/internal/evidence"
)

func TestScheduleConstantGapsExact(t *testing.T) {
	for _, rate := range []float64{200, 1000, 3} {
		offs := schedule("constant", rate, 2*time.Second, 1)
		want := int(math.Ceil(rate * 2))
		if len(offs) != want {
			t.Fatalf("rate %v: %d requests, want %d", rate, len(offs), want)
		}
		for i, off := range offs {
			if exact := float64(i) * 1e9 / rate; math.Abs(float64(off)-exact) > 0.5 {
				t.Fatalf("rate %v: offset %d is %d ns, want %.1f", rate, i, off, exact)
			}
		}
	}
	offs := schedule("constant", 200, time.Second, 1)
	for i := 1; i < len(offs); i++ {
		if gap := offs[i] - offs[i-1]; gap != 5_000_000 {
			t.Fatalf("gap %d is %d ns, want exactly 5 ms", i, gap)
		}
	}
}

func TestSchedulePoisson(t *testing.T) {
	const rate = 1000.0
	a := schedule("poisson", rate, 10*time.Second, 42)
	b := schedule("poisson", rate, 10*time.Second, 42)
	c := schedule("poisson", rate, 10*time.Second, 43)
	if len(a) != len(b) || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed gave different schedules")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds gave the same schedule")
	}
	// ~10000 arrivals: the count is within 4 standard deviations (sqrt(10000) = 100).
	if n := len(a); n < 9600 || n > 10400 {
		t.Fatalf("%d arrivals in 10 s at %v/s", n, rate)
	}
	var sum, sq float64
	prev := int64(0)
	for i, off := range a {
		if off < prev || off >= int64(10*time.Second) {
			t.Fatalf("offset %d = %d out of order or range", i, off)
		}
		gap := float64(off - prev)
		sum += gap
		sq += gap * gap
		prev = off
	}
	mean := sum / float64(len(a))
	if math.Abs(mean-1e6)/1e6 > 0.03 {
		t.Fatalf("mean gap %.0f ns, want 1e6 within 3 %%", mean)
	}
	// exponential gaps: standard deviation equals the mean
	sd := math.Sqrt(sq/float64(len(a)) - mean*mean)
	if math.Abs(sd-mean)/mean > 0.05 {
		t.Fatalf("gap standard deviation %.0f ns, mean %.0f: not exponential", sd, mean)
	}
}

func TestParseFlags(t *testing.T) {
	bad := [][]string{
		{"-rate", "0"}, {"-rate", "-5"}, {"-rate", "NaN"}, {"-arrivals", "burst"},
		{"-duration", "-1s"}, {"-duration", "0s"}, {"-warmup", "-1s"}, {"-timeout", "0s"},
		{"-late-tolerance", "-1ms"}, {"-max-in-flight", "0"}, {"-url", "ftp://x/"},
		{"-rate", "1e9", "-duration", "10s"}, {"-nope"}, {"extra"},
	}
	for _, args := range bad {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	c, err := parseFlags([]string{"-rate", "250.5", "-arrivals", "poisson", "-seed", "7", "-duration", "3s", "-warmup", "0s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 250.5 || c.Arrivals != "poisson" || c.Seed != 7 || c.Duration != 3*time.Second || c.Warmup != 0 ||
		c.LateTolerance != 10*time.Millisecond || c.MaxInFlight != 10000 {
		t.Fatalf("parsed %+v", c)
	}
}

// echoServer answers like go/server after calling hold; it counts distinct
// connections by peer address.
func echoServer(t *testing.T, hold func()) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enter := evidence.Now()
		hold()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"hello": "world", "client": r.URL.Query().Get("client"),
			"enter_ns": enter, "exit_ns": evidence.Now(), "clock": evidence.ClockName,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func testConfig(url string) config {
	return config{
		URL: url + "/", Rate: 200, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Arrivals: "constant", Seed: 1, Timeout: 2 * time.Second, LateTolerance: 10 * time.Millisecond,
		MaxInFlight: 10000, Lead: 20 * time.Millisecond,
	}
}

func TestRunEndToEnd(t *testing.T) {
	const hold = 5 * time.Millisecond
	srv := echoServer(t, func() { time.Sleep(hold) })
	cfg := testConfig(srv.URL)
	recs, s := run(cfg, newHTTPClient(cfg.Timeout, false))

	if s.Scheduled != 60 || s.WarmupScheduled != 20 || len(recs) != 80 {
		t.Fatalf("scheduled %d + warmup %d (%d records), want 60 + 20", s.Scheduled, s.WarmupScheduled, len(recs))
	}
	if s.Sent != 60 || s.Completed != 60 || s.Failed != 0 || s.WarmupCompleted != 20 {
		t.Fatalf("summary %+v", s)
	}
	// on a loaded test machine a few sends may be late; most must not be
	if s.LateSends > 6 {
		t.Errorf("%d of 60 sends late", s.LateSends)
	}
	for i, r := range recs {
		if r.Name != fmt.Sprintf("r%06d", i) || r.Index != i || r.Warmup != (i < 20) {
			t.Fatalf("record %d: name %q index %d warmup %v", i, r.Name, r.Index, r.Warmup)
		}
		if r.IntendedNS != s.StartNS+int64(i)*5_000_000 {
			t.Fatalf("record %d intended at %d, want start + %d ms", i, r.IntendedNS, 5*i)
		}
		if r.Error != "" || r.Status != 200 || r.SentNS == nil || r.RecvNS == nil || r.LatencyNS == nil {
			t.Fatalf("record %d: %+v", i, r)
		}
		if *r.SentNS < r.IntendedNS || *r.RecvNS < *r.SentNS {
			t.Fatalf("record %d: intended %d sent %d recv %d out of order", i, r.IntendedNS, *r.SentNS, *r.RecvNS)
		}
		// latency is counted from the intended time, not from the send
		if *r.LatencyNS != *r.RecvNS-r.IntendedNS || *r.LatenessNS != *r.SentNS-r.IntendedNS {
			t.Fatalf("record %d: latency %d lateness %d", i, *r.LatencyNS, *r.LatenessNS)
		}
		if *r.LatencyNS < int64(hold) {
			t.Fatalf("record %d: latency %d shorter than the server's hold", i, *r.LatencyNS)
		}
		var body struct {
			Client  string `json:"client"`
			EnterNS int64  `json:"enter_ns"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Client != r.Name {
			t.Fatalf("record %d: body %s", i, r.Body)
		}
		if body.EnterNS < *r.SentNS || body.EnterNS > *r.RecvNS {
			t.Fatalf("record %d: server entered at %d outside [sent, recv]", i, body.EnterNS)
		}
	}

	var out bytes.Buffer
	if err := write(&out, recs, s); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 81 {
		t.Fatalf("%d output lines, want 80 records + summary", len(lines))
	}
	var last map[string]map[string]any
	if err := json.Unmarshal([]byte(lines[80]), &last); err != nil || last["summary"]["completed"] != 60.0 {
		t.Fatalf("summary line %s (%v)", lines[80], err)
	}
}

// A server that answers one request at a time, slower than they arrive: the
// open model still sends every request on schedule, and the queue shows up as
// latency counted from the intended time (a closed loop would send less).
func TestRunSlowServerDoesNotHoldSendsBack(t *testing.T) {
	var mu sync.Mutex
	srv := echoServer(t, func() { mu.Lock(); time.Sleep(5 * time.Millisecond); mu.Unlock() })
	cfg := testConfig(srv.URL)
	cfg.Rate, cfg.Warmup = 400, 0 // 2.5 ms apart, served 5 ms each
	recs, s := run(cfg, newHTTPClient(cfg.Timeout, false))
	if s.Scheduled != 120 || s.Sent != 120 || s.Completed != 120 {
		t.Fatalf("summary %+v", s)
	}
	if s.LateSends > 12 {
		t.Errorf("%d of 120 sends late although the client is not the bottleneck", s.LateSends)
	}
	first, last := *recs[0].LatencyNS, *recs[len(recs)-1].LatencyNS
	if last < 200*int64(time.Millisecond) || last < 10*first {
		t.Fatalf("latency first %d last %d ns: the server's queue should show", first, last)
	}
	if s.PeakInFlight < 50 {
		t.Fatalf("peak in flight %d: requests were held back", s.PeakInFlight)
	}
}

func TestRunCapAndTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := echoServer(t, func() {
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
	})
	defer close(release)
	cfg := testConfig(srv.URL)
	cfg.Warmup, cfg.Rate, cfg.Duration = 0, 100, 200*time.Millisecond
	cfg.MaxInFlight, cfg.Timeout = 5, 300*time.Millisecond
	began := time.Now()
	recs, s := run(cfg, newHTTPClient(cfg.Timeout, false))
	if took := time.Since(began); took > 1500*time.Millisecond {
		t.Fatalf("run took %v: it must stop about -timeout after the last send", took)
	}
	if s.Scheduled != 20 || s.Sent != 5 || s.CapReached != 15 || s.TimedOut != 5 || s.Failed != 20 || s.Completed != 0 {
		t.Fatalf("summary %+v", s)
	}
	for i, r := range recs {
		switch {
		case i < 5 && (r.Error != errTimeout || r.SentNS == nil || r.RecvNS != nil || r.LatencyNS != nil):
			t.Fatalf("record %d: %+v", i, r)
		case i >= 5 && (r.Error != errCap || r.SentNS != nil || r.Late):
			t.Fatalf("record %d: %+v", i, r)
		}
	}
}

func TestParseFlagsHTTP2(t *testing.T) {
	c, err := parseFlags([]string{"-http2"})
	if err != nil || !c.HTTP2 {
		t.Fatalf("-http2: %+v, %v", c, err)
	}
	if c, _ := parseFlags(nil); c.HTTP2 {
		t.Fatal("HTTP/2 without -http2")
	}
}

// TestRunHTTP2 runs against a server that serves HTTP/1.1 and h2c on one socket:
// with -http2 every answer is HTTP/2.0 over few connections, without it HTTP/1.1.
func TestRunHTTP2(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		json.NewEncoder(w).Encode(map[string]any{"client": r.URL.Query().Get("client")})
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	for _, h2 := range []bool{true, false} {
		cfg := testConfig(srv.URL)
		cfg.HTTP2 = h2
		mu.Lock()
		clear(conns)
		mu.Unlock()
		recs, s := run(cfg, newHTTPClient(cfg.Timeout, h2))
		want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
		if s.Completed != 60 || s.Protocols[want] != 60 || len(s.Protocols) != 1 || s.HTTP2 != h2 {
			t.Fatalf("http2=%v: %d completed, protocols %v", h2, s.Completed, s.Protocols)
		}
		for _, r := range recs {
			if r.Proto != want {
				t.Fatalf("http2=%v: %s answered over %q", h2, r.Name, r.Proto)
			}
		}
		if h2 && len(conns) > 2 {
			t.Fatalf("h2c used %d connections, want 1 (or 2 if a dial raced)", len(conns))
		}
		if !strings.Contains(describe(recs, s), "answered over "+want+" 60") {
			t.Fatalf("summary does not name the protocol: %s", describe(recs, s))
		}
	}
}

// TestDescribePercentilesNeedSamples: a percentile is printed only with at least
// 1/(1-p) samples (p99 needs 100), else "-", as the harness's report.
func TestDescribePercentilesNeedSamples(t *testing.T) {
	if minSamples(50) != 2 || minSamples(90) != 10 || minSamples(99) != 100 || minSamples(100) != 1 {
		t.Fatalf("minSamples: %d %d %d %d", minSamples(50), minSamples(90), minSamples(99), minSamples(100))
	}
	recs := make([]record, 50)
	for i := range recs {
		recs[i] = record{IntendedNS: 0, RecvNS: ptr(int64(i+1) * 1e6)}
	}
	got := describe(recs, summary{})
	if !strings.Contains(got, "p50 25.000 p90 45.000 p99 - max 50.000 ms") {
		t.Fatalf("percentiles: %s", got)
	}
	if got := describe(nil, summary{}); !strings.Contains(got, "p50 - p90 - p99 - max - ms") {
		t.Fatalf("no samples: %s", got)
	}
}
