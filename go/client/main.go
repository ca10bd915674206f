// Command client is the article's Go client: one goroutine per client name, joined
// by a sync.WaitGroup, each doing one GET and decoding the JSON answer; main prints
// "!! main took <d>" through a deferred timeTrack. The changes the harness needs
// (base URL, number of clients, batches, a timeout, a connection policy, errors
// recorded instead of panics, one JSON line per batch) are listed in the README.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"concurrency-compare/internal/evidence"
)

// response is the article's struct, with its struct tags written the way
// encoding/json reads them (the article's `json: "hello"` is malformed).
type response struct {
	Hello  string `json:"hello"`
	Client string `json:"client"`
}

// result is one request as the harness sees it: client-side timestamps on the
// cross-process clock, the status, whether the server said it would close the
// connection, the server's Concurrency-Evidence header (raw, when it sent one) and
// the body passed through for checking.
type result struct {
	Name           string          `json:"name"`
	SentNS         int64           `json:"sent_ns"`
	RecvNS         int64           `json:"recv_ns"`
	Status         int             `json:"status"`
	HTTPVersion    string          `json:"http_version,omitempty"`
	ServerClosed   bool            `json:"server_closed"`
	EvidenceHeader *string         `json:"evidence_header,omitempty"`
	Error          string          `json:"error,omitempty"`
	Body           json.RawMessage `json:"body,omitempty"`
}

// batch is the machine-readable line printed after every batch. CPUNS is the CPU
// time this process used from the batch's start to its last response.
type batch struct {
	Batch       int      `json:"batch"`
	Clients     int      `json:"clients"`
	StartNS     int64    `json:"start_ns"`
	EndNS       int64    `json:"end_ns"`
	WallS       float64  `json:"wall_s"`
	CPUNS       int64    `json:"cpu_ns"`
	Clock       string   `json:"clock"`
	Connections string   `json:"connections"`
	Requests    []result `json:"requests"`
}

var (
	baseURL = flag.String("url", "http://localhost:8000/", "server URL; ?client=<name> is appended")
	clients = flag.Int("clients", 5, "number of concurrent requests per batch (the article: 5, A..E)")
	batches = flag.Int("batches", 1, "number of batches to run one after another")
	timeout = flag.Duration("timeout", 10*time.Minute, "per-request timeout (http.DefaultClient has none)")
	conns   = flag.String("connections", "reuse", "reuse (keep connections across batches) or fresh (one per request)")
	http2   = flag.Bool("http2", false, "HTTP/2 with prior knowledge over http:// (h2c): the N requests as N streams of one connection")
	quiet   = flag.Bool("quiet", false, "do not log every decoded response to stderr")
)

func get(c *http.Client, s string) (res result) {
	res = result{Name: s, SentNS: evidence.Now()}
	defer func() { res.RecvNS = evidence.Now() }()
	req, err := newRequest(s)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	resp, err := c.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.HTTPVersion = resp.Proto // what the server answered with: HTTP/1.1 or HTTP/2.0
	// resp.Close: the answer said "Connection: close" (or was HTTP/1.0 without
	// keep-alive); net/http removes that header, so this is the only trace of it.
	res.ServerClosed = resp.Close
	if v := resp.Header.Values(evidence.Header); len(v) > 0 {
		joined := strings.Join(v, ", ")
		res.EvidenceHeader = &joined
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if endpoint != nil { // a user's endpoint: any body; a small JSON one is passed on
		if len(body) <= evidence.MaxPassedBody && json.Valid(body) {
			res.Body = body
		}
		return res
	}
	r := new(response)
	if err := json.Unmarshal(body, &r); err != nil {
		res.Error = fmt.Sprintf("body is not JSON: %v: %.200q", err, body)
		return res
	}
	if !*quiet {
		log.Println(r)
	}
	res.Body = body
	return res
}

// endpoint is the user's request from HARNESS_REQUEST (nil: the article's GET ?client=NAME).
var endpoint *evidence.Endpoint

// newRequest is the article's GET <url>?client=NAME, or the user's endpoint as
// given; either way it asks for the server's evidence (Concurrency-Evidence: 1).
func newRequest(name string) (*http.Request, error) {
	if endpoint != nil {
		return endpoint.NewRequest(*baseURL)
	}
	req, err := http.NewRequest(http.MethodGet, *baseURL+"?client="+url.QueryEscape(name), nil)
	if err == nil {
		req.Header.Set(evidence.Header, "1")
	}
	return req, err
}

// stagger is HARNESS_STAGGER_S: request i of a batch is sent i x this after the first,
// for a server that counts open connections (the catalog's client_stagger_s).
var stagger time.Duration

func runBatch(c *http.Client, n int, names []string) batch {
	results := make([]result, len(names))
	start, startNS, cpu := time.Now(), evidence.Now(), evidence.CPUTime()

	var wg sync.WaitGroup
	wg.Add(len(names))
	for i, s := range names {
		go func(i int, s string) {
			defer wg.Done()
			time.Sleep(time.Duration(i) * stagger) // 0 unless the server's catalog entry asks
			results[i] = get(c, s)
		}(i, s)
	}
	wg.Wait()
	cpu = evidence.CPUTime() - cpu

	return batch{
		Batch: n, Clients: len(names), StartNS: startNS, EndNS: evidence.Now(),
		WallS: time.Since(start).Seconds(), CPUNS: cpu, Clock: evidence.ClockName,
		Connections: *conns, Requests: results,
	}
}

// newClient is an http.Client with the -timeout and the -connections policy.
// DefaultTransport keeps only 2 idle connections per host, so with 5 clients 3
// would be dialled again in every batch; reuse keeps all n (the warm-up batch
// opens them, later batches reuse them) with no idle timeout, since a serial
// server leaves a connection idle for up to n x D within a batch. fresh dials
// every request and sends "Connection: close", like a new process per run.
func newClient(n int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	switch *conns {
	case "reuse":
		t.MaxIdleConnsPerHost = n
		t.MaxIdleConns = max(100, n)
		t.MaxConnsPerHost = 0
		t.IdleConnTimeout = 0
	case "fresh":
		// over HTTP/2 the batch shares one connection, closed after it (main)
		t.DisableKeepAlives = !*http2
	}
	if *http2 {
		// Only UnencryptedHTTP2: prior knowledge, every stream of a batch on one
		// connection (with HTTP1 also set, http:// URLs would stay on HTTP/1.1).
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return &http.Client{Timeout: *timeout, Transport: t}
}

func main() {
	defer timeTrack(time.Now(), "main")
	flag.Parse()
	if *clients < 1 || *batches < 1 {
		fmt.Fprintln(os.Stderr, "client: -clients and -batches must be at least 1")
		os.Exit(2)
	}
	if raw := os.Getenv("HARNESS_STAGGER_S"); raw != "" {
		seconds, err := strconv.ParseFloat(raw, 64)
		if err != nil || seconds < 0 {
			fmt.Fprintf(os.Stderr, "client: HARNESS_STAGGER_S must be seconds >= 0, got %q\n", raw)
			os.Exit(2)
		}
		stagger = time.Duration(seconds * float64(time.Second))
	}
	if *conns != "reuse" && *conns != "fresh" {
		fmt.Fprintf(os.Stderr, "client: -connections must be reuse or fresh, got %q\n", *conns)
		os.Exit(2)
	}
	var err error
	if endpoint, err = evidence.EndpointFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(2)
	}
	c := newClient(*clients)
	names := evidence.ClientNames(*clients)
	out := json.NewEncoder(os.Stdout)
	for n := 0; n < *batches; n++ {
		if err := out.Encode(runBatch(c, n, names)); err != nil {
			log.Fatal(err)
		}
		if *http2 && *conns == "fresh" {
			c.CloseIdleConnections() // the next batch dials a new HTTP/2 connection
		}
	}
}

// Track time past
// reference: https://coderwall.com/p/cp5fya/measuring-execution-time-in-go
func timeTrack(start time.Time, name string) {
	elapsed := time.Since(start)
	fmt.Printf("!! %s took %s\n", name, elapsed)
}
