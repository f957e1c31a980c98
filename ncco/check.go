package ncco

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/voiceproxy/voiceproxy/internal/phone"
)

// checker collects the problems of one action.
type checker struct {
	ps []*ValidationError
}

func (c *checker) add(field, reason string) {
	c.ps = append(c.ps, &ValidationError{Field: field, Reason: reason})
}

func (c *checker) addf(field, format string, args ...any) {
	c.add(field, fmt.Sprintf(format, args...))
}

// number checks a phone number field: digits only, 7–15, not starting with 0.
func (c *checker) number(field, digits string) {
	if err := phone.Check(digits); err != nil {
		c.ps = append(c.ps, &ValidationError{
			Field:  field,
			Reason: err.Error(),
			Err:    phone.Errorf(digits, err.Error()),
		})
	}
}

// oneOf checks an optional enum: empty, or one of allowed.
func (c *checker) oneOf(field, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.addf(field, "%q is not one of %q", v, allowed)
}

// intRange checks an optional integer where 0 means absent.
func (c *checker) intRange(field string, v, lo, hi int) {
	if v != 0 && (v < lo || v > hi) {
		c.addf(field, "%d is outside %d–%d", v, lo, hi)
	}
}

// ptrIntRange checks an optional integer where nil means absent.
func (c *checker) ptrIntRange(field string, v *int, lo, hi int) {
	if v != nil && (*v < lo || *v > hi) {
		c.addf(field, "%d is outside %d–%d", *v, lo, hi)
	}
}

func (c *checker) floatRange(field string, v, lo, hi float64) {
	if v < lo || v > hi {
		c.addf(field, "%s is outside %s–%s", fmtFloat(v), fmtFloat(lo), fmtFloat(hi))
	}
}

// httpURL checks an optional absolute http or https URL.
func (c *checker) httpURL(field, s string) {
	if s == "" {
		return
	}
	if !hasScheme(s, "http", "https") {
		c.addf(field, "%q is not an absolute http(s) URL", short(s))
	}
}

// urls checks an array of http(s) URLs such as eventUrl. The reference
// writes them as arrays "even if they hold a single value"; only the first
// is used, but more are not an error.
func (c *checker) urls(field string, urls []string, required bool) {
	if len(urls) == 0 && required {
		c.add(field, "required: an array with one URL")
		return
	}
	for i, u := range urls {
		f := field + "[" + strconv.Itoa(i) + "]"
		if u == "" {
			c.add(f, "empty URL")
			continue
		}
		c.httpURL(f, u)
	}
}

// method checks an optional eventMethod.
func (c *checker) method(field, m string) {
	c.oneOf(field, m, "GET", "POST")
}

// hasScheme reports whether s parses as an absolute URL with a host and one
// of the schemes.
func hasScheme(s string, schemes ...string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	for _, sc := range schemes {
		if u.Scheme == sc {
			return true
		}
	}
	return false
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// short keeps error messages readable when a value is huge.
func short(s string) string {
	const maxShown = 80
	if len(s) > maxShown {
		return s[:maxShown] + "…"
	}
	return s
}
