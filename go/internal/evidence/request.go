package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Header asks a server with the evidence middleware for its stamps (value "1")
// and is the response header that carries them (see go/evidencehttp).
const Header = "Concurrency-Evidence"

// MaxPassedBody is the largest JSON body of a user's endpoint passed on to the
// harness (for evidence fields); bigger ones are not its business.
const MaxPassedBody = 64 * 1024

// Endpoint is a user's request, described by the harness in HARNESS_REQUEST
// (harness/core/request.py): the URL is used as given, with this method, these
// headers and this body; Expect lists the statuses that count as an answer.
type Endpoint struct {
	Method   string      `json:"method"`
	Headers  [][2]string `json:"headers"`
	BodyFile string      `json:"body_file"`
	Expect   [][2]int    `json:"expect"`
	body     []byte
}

// EndpointFromEnv reads HARNESS_REQUEST; nil when it is not set.
func EndpointFromEnv() (*Endpoint, error) {
	raw := os.Getenv("HARNESS_REQUEST")
	if raw == "" {
		return nil, nil
	}
	e := new(Endpoint)
	if err := json.Unmarshal([]byte(raw), e); err != nil {
		return nil, fmt.Errorf("HARNESS_REQUEST is not the request's JSON: %v", err)
	}
	if e.Method == "" {
		e.Method = http.MethodGet
	}
	if e.BodyFile != "" {
		body, err := os.ReadFile(e.BodyFile)
		if err != nil {
			return nil, fmt.Errorf("HARNESS_REQUEST body: %v", err)
		}
		e.body = body
	}
	return e, nil
}

// NewRequest is one request to url as the endpoint describes it, asking for evidence
// unless the headers given carry their own Concurrency-Evidence (an operator's token).
func (e *Endpoint) NewRequest(url string) (*http.Request, error) {
	var body *bytes.Reader
	if e.body != nil {
		body = bytes.NewReader(e.body)
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequest(e.Method, url, body)
	} else {
		req, err = http.NewRequest(e.Method, url, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set(Header, "1")
	for _, h := range e.Headers {
		if strings.EqualFold(h[0], "Host") {
			req.Host = h[1]
			continue
		}
		if strings.EqualFold(h[0], Header) {
			req.Header.Set(Header, h[1])
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	return req, nil
}

// Accepts tells whether status counts as an answer (2xx when Expect is empty).
func (e *Endpoint) Accepts(status int) bool {
	if len(e.Expect) == 0 {
		return status >= 200 && status <= 299
	}
	for _, r := range e.Expect {
		if status >= r[0] && status <= r[1] {
			return true
		}
	}
	return false
}
