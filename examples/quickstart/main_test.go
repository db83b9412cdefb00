package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"
)

// TestQuickstart runs the README's main command end to end.
func TestQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("quickstart failed: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		`shared_preload_libraries = pgaudit,pglogical`,
		`extension pgaudit   1\.\d+`,
		`extension pglogical 2\.\d+\.\d+`,
		`server stopped`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
