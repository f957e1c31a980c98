package voice

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// Call reads a completed call's detail as GetCallResponse gives it (Voice
// API reference, "Get detail of a specific call": duration a string,
// start_time and end_time "YYYY-MM-DD HH:MM:SS"), a duration sent as a
// number too, and a 404 as ErrCallNotFound.
func TestCallDetail(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/calls/done", httpmock.NewStringResponder(200,
		`{"uuid":"done","conversation_uuid":"CON-1","status":"completed","direction":"outbound","rate":"0.39","price":"23.40",
		"duration":"60","start_time":"2020-01-01 12:00:00","end_time":"2020-01-01 12:01:00","network":"65512"}`))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/calls/numeric", httpmock.NewStringResponder(200,
		`{"uuid":"numeric","status":"completed","duration":42,"end_time":"2020-01-01T12:01:00.000Z"}`))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/calls/gone", httpmock.NewStringResponder(404, `{"title":"Not Found"}`))
	c := newCallsClient(t, mt)
	info, err := c.Call(t.Context(), "done", "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != "completed" || info.Duration.Int(-1) != 60 || info.Price != "23.40" || info.Rate != "0.39" || info.Network != "65512" || info.Direction != "outbound" {
		t.Errorf("detail %+v", info)
	}
	start, ok1 := ParseCallTime(info.StartTime)
	end, ok2 := ParseCallTime(info.EndTime)
	if !ok1 || !ok2 || !start.Equal(time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)) || end.Sub(start) != time.Minute {
		t.Errorf("times %v %v (%v %v) from %q %q", start, end, ok1, ok2, info.StartTime, info.EndTime)
	}
	info, err = c.Call(t.Context(), "numeric", "")
	if err != nil || info.Duration.Int(-1) != 42 {
		t.Errorf("numeric duration: %+v, %v", info, err)
	}
	if end, ok := ParseCallTime(info.EndTime); !ok || !end.Equal(time.Date(2020, 1, 1, 12, 1, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339 end_time %q read as %v, %v", info.EndTime, end, ok)
	}
	if _, err := c.Call(t.Context(), "gone", ""); !errors.Is(err, ErrCallNotFound) {
		t.Errorf("404: %v, want ErrCallNotFound", err)
	}
	for _, bad := range []string{"", "yesterday", "2020-01-01", "12:00:00"} {
		if _, ok := ParseCallTime(bad); ok {
			t.Errorf("ParseCallTime(%q) accepted", bad)
		}
	}
}
