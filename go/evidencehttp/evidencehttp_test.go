package evidencehttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func slow(w http.ResponseWriter, r *http.Request) {
	time.Sleep(2 * time.Millisecond)
	w.Header().Set("Server-Timing", "db;dur=1")
	w.Write([]byte("ok"))
}

func serve(h http.Handler, header string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	if header != "" {
		req.Header.Set(Header, header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestOnlyARequestThatAsksGetsEvidence(t *testing.T) {
	h := Options{}.Wrap(http.HandlerFunc(slow))
	got := serve(h, "1").Header()
	v := got.Get(Header)
	for _, key := range []string{"v=1;", "pid=", "thread=g", "enter_ns=", "exit_ns=", "clock=", "layer=go"} {
		if !strings.Contains(v, key) {
			t.Errorf("%s: no %q in %q", Header, key, v)
		}
	}
	if timing := got.Values("Server-Timing"); len(timing) != 2 || !strings.HasPrefix(timing[1], "app;dur=") {
		t.Errorf("Server-Timing %q: want the handler's entry and ours", timing)
	}
	plain := serve(h, "").Header()
	if plain.Get(Header) != "" || len(plain.Values("Server-Timing")) != 1 {
		t.Errorf("a request that did not ask got %v", plain)
	}
}

func TestTheOperatorSwitchesItOffOrSetsAToken(t *testing.T) {
	if got := serve(Options{Disabled: true}.Wrap(http.HandlerFunc(slow)), "1").Header().Get(Header); got != "" {
		t.Errorf("disabled, yet %q", got)
	}
	guarded := Options{Token: "s3cret"}.Wrap(http.HandlerFunc(slow))
	if got := serve(guarded, "1").Header().Get(Header); got != "" {
		t.Errorf("without the token, yet %q", got)
	}
	if got := serve(guarded, "s3cret").Header().Get(Header); got == "" {
		t.Error("with the token, no evidence")
	}
	t.Setenv("CONCURRENCY_EVIDENCE", "off")
	if !OptionsFromEnv().Disabled {
		t.Error("CONCURRENCY_EVIDENCE=off did not disable it")
	}
}

func TestAHandlerThatWritesNothingIsStampedToo(t *testing.T) {
	h := Options{}.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if serve(h, "1").Header().Get(Header) == "" {
		t.Error("no evidence for a handler that wrote nothing")
	}
}
