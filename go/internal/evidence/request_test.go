package evidence

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestEndpointFromEnv(t *testing.T) {
	t.Setenv("HARNESS_REQUEST", "")
	if e, err := EndpointFromEnv(); e != nil || err != nil {
		t.Fatalf("unset: %v, %v; want the article's request (nil)", e, err)
	}
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, []byte(`{"sku":"A1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HARNESS_REQUEST", `{"method":"POST","headers":[["Content-Type","application/json"],`+
		`["Concurrency-Evidence","s3cret"]],"body_file":"`+body+`","expect":[[201,201],[300,399]]}`)
	e, err := EndpointFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	req, err := e.NewRequest("http://127.0.0.1:9/orders?x=1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(req.Body)
	if req.Method != "POST" || req.URL.RawQuery != "x=1" || string(got) != `{"sku":"A1"}` {
		t.Errorf("request %s %s body %q", req.Method, req.URL, got)
	}
	if req.Header.Get(Header) != "s3cret" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v: the user's Concurrency-Evidence replaces the default 1", req.Header)
	}
	for status, want := range map[int]bool{201: true, 200: false, 302: true, 404: false} {
		if e.Accepts(status) != want {
			t.Errorf("Accepts(%d) = %v", status, !want)
		}
	}
	t.Setenv("HARNESS_REQUEST", "{not json")
	if _, err := EndpointFromEnv(); err == nil {
		t.Error("a malformed HARNESS_REQUEST was accepted")
	}
}
