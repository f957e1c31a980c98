// Package deps pins the module's third-party dependencies while the
// packages that use them are being written. It is removed once they are.
package deps

import (
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jarcoal/httpmock"
	_ "github.com/nyaruka/phonenumbers"
	_ "golang.org/x/sync/errgroup"
	_ "modernc.org/sqlite"
)
