package misuse

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestNilQuerierFailsEveryCall(t *testing.T) {
	q := Querier(nil, "pkg")
	ctx := context.Background()
	_, e1 := q.Exec(ctx, "x")
	_, e2 := q.Query(ctx, "x")
	e3 := q.QueryRow(ctx, "x").Scan()
	_, e4 := q.Begin(ctx)
	for i, err := range []error{e1, e2, e3, e4} {
		if !errors.Is(err, ErrNoDatabase) || !strings.HasPrefix(err.Error(), "pkg: ") {
			t.Errorf("call %d: %v, want ErrNoDatabase naming the package", i, err)
		}
	}
	real := Querier(q, "other")
	if real != q {
		t.Error("a non-nil Querier is not returned as it is")
	}
}
