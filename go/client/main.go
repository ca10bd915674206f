// Command client is the article's Go client: one goroutine per client name, joined
// by a sync.WaitGroup, each doing one GET and decoding the JSON answer; main prints
// "!! main took <d>" through a deferred timeTrack. The changes the harness needs
// (base URL, number of clients, batches, a timeout, errors recorded instead of
// panics, one JSON line per batch) are listed in the README.
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
// cross-process clock, the status, and the body passed through for checking.
type result struct {
	Name   string          `json:"name"`
	SentNS int64           `json:"sent_ns"`
	RecvNS int64           `json:"recv_ns"`
	Status int             `json:"status"`
	Error  string          `json:"error,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// batch is the machine-readable line printed after every batch.
type batch struct {
	Batch    int      `json:"batch"`
	Clients  int      `json:"clients"`
	StartNS  int64    `json:"start_ns"`
	EndNS    int64    `json:"end_ns"`
	WallS    float64  `json:"wall_s"`
	Clock    string   `json:"clock"`
	Requests []result `json:"requests"`
}

var (
	baseURL = flag.String("url", "http://localhost:8000/", "server URL; ?client=<name> is appended")
	clients = flag.Int("clients", 5, "number of concurrent requests per batch (the article: 5, A..E)")
	batches = flag.Int("batches", 1, "number of batches to run one after another")
	timeout = flag.Duration("timeout", 10*time.Minute, "per-request timeout (http.DefaultClient has none)")
	quiet   = flag.Bool("quiet", false, "do not log every decoded response to stderr")
)

func get(c *http.Client, s string) (res result) {
	res = result{Name: s, SentNS: evidence.Now()}
	defer func() { res.RecvNS = evidence.Now() }()
	resp, err := c.Get(*baseURL + "?client=" + url.QueryEscape(s))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		res.Error = err.Error()
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

func runBatch(c *http.Client, n int, names []string) batch {
	results := make([]result, len(names))
	start, startNS := time.Now(), evidence.Now()

	var wg sync.WaitGroup
	wg.Add(len(names))
	for i, s := range names {
		go func(i int, s string) {
			defer wg.Done()
			results[i] = get(c, s)
		}(i, s)
	}
	wg.Wait()

	return batch{
		Batch: n, Clients: len(names), StartNS: startNS, EndNS: evidence.Now(),
		WallS: time.Since(start).Seconds(), Clock: evidence.ClockName, Requests: results,
	}
}

func main() {
	defer timeTrack(time.Now(), "main")
	flag.Parse()
	if *clients < 1 || *batches < 1 {
		fmt.Fprintln(os.Stderr, "client: -clients and -batches must be at least 1")
		os.Exit(2)
	}
	c := &http.Client{Timeout: *timeout}
	names := evidence.ClientNames(*clients)
	out := json.NewEncoder(os.Stdout)
	for n := 0; n < *batches; n++ {
		if err := out.Encode(runBatch(c, n, names)); err != nil {
			log.Fatal(err)
		}
	}
}

// Track time past
// reference: https://coderwall.com/p/cp5fya/measuring-execution-time-in-go
func timeTrack(start time.Time, name string) {
	elapsed := time.Since(start)
	fmt.Printf("!! %s took %s\n", name, elapsed)
}
