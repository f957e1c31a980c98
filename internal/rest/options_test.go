package rest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigSetters(t *testing.T) {
	t.Parallel()
	hc := &http.Client{}
	tests := []struct {
		name    string
		set     func(*Config) error
		want    Config
		wantErr string
	}{
		{"http client", func(c *Config) error { return c.SetHTTPClient("pkg", hc) }, Config{HTTPClient: hc}, ""},
		{"nil http client", func(c *Config) error { return c.SetHTTPClient("pkg", nil) }, Config{}, "pkg: nil *http.Client"},
		{"retries", func(c *Config) error { return c.SetMaxRetries("pkg", 5) }, Config{Retry: RetryPolicy{MaxRetries: 5}}, ""},
		{"zero retries switches off", func(c *Config) error { return c.SetMaxRetries("pkg", 0) }, Config{Retry: RetryPolicy{MaxRetries: NoRetries}}, ""},
		{"negative retries", func(c *Config) error { return c.SetMaxRetries("pkg", -1) }, Config{}, "pkg: negative retry count -1"},
		{"backoff", func(c *Config) error { return c.SetBackoff("pkg", time.Second, time.Minute) },
			Config{Retry: RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Minute}}, ""},
		{"backoff base equals max", func(c *Config) error { return c.SetBackoff("pkg", time.Second, time.Second) },
			Config{Retry: RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Second}}, ""},
		{"zero backoff", func(c *Config) error { return c.SetBackoff("pkg", 0, time.Second) }, Config{}, "pkg: invalid backoff 0s..1s"},
		{"backoff max below base", func(c *Config) error { return c.SetBackoff("pkg", time.Second, time.Millisecond) },
			Config{}, "pkg: invalid backoff 1s..1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Config
			err := tt.set(&got)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b *http.Client) bool { return a == b })); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		want      Amount
		wantFloat float64
		wantErr   bool
	}{
		{`"0.04000000"`, "0.04000000", 0.04, false},
		{`0.04000000`, "0.04000000", 0.04, false},
		{` 12 `, "12", 12, false},
		{`null`, "", 0, false},
		{`""`, "", 0, false},
		{`true`, "", 0, true},
		{`{"v":1}`, "", 0, true},
		{`["1"]`, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			a := Amount("stale")
			err := a.UnmarshalJSON([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("UnmarshalJSON(%s) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, a); diff != "" {
				t.Errorf("UnmarshalJSON(%s) (-want +got):\n%s", tt.in, diff)
			}
			f, err := a.Float64()
			if err != nil || f != tt.wantFloat {
				t.Errorf("Amount(%q).Float64() = %v, %v; want %v", a, f, err, tt.wantFloat)
			}
		})
	}
	if f, err := Amount("n/a").Float64(); err == nil {
		t.Errorf(`Amount("n/a").Float64() = %v, nil; want an error`, f)
	}
}

func TestAmountInStruct(t *testing.T) {
	t.Parallel()
	var got struct {
		Price Amount `json:"price"`
		Cost  Amount `json:"cost"`
		None  Amount `json:"none"`
	}
	if err := json.Unmarshal([]byte(`{"price":"1.25","cost":0.5,"none":null}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.Price != "1.25" || got.Cost != "0.5" || got.None != "" {
		t.Errorf("decoded %+v", got)
	}
	if err := json.Unmarshal([]byte(`{"price":false}`), &got); err == nil {
		t.Error("decoding a boolean amount: no error")
	}
}
