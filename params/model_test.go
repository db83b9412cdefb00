package params

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateGroupName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // substring; empty means valid
	}{
		{"my-cluster-params", ""},
		{"a", ""},
		{"A1-b2-C3", ""},
		{strings.Repeat("a", 255), ""},
		{"", "is empty"},
		{strings.Repeat("a", 256), "256 characters long; the maximum is 255"},
		{"1abc", "must start with an ASCII letter"},
		{"-abc", "must start with an ASCII letter"},
		{"abc-", "ends with a hyphen"},
		{"ab--c", "two consecutive hyphens"},
		{"ab_c", `contains '_'`},
		{"ab c", `contains ' '`},
		{"abé", "only ASCII letters, digits and hyphens"},
		{"default.aurora-postgresql15", "default parameter group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGroupName(tt.name)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateGroupName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateGroupName(%q) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "group name" {
				t.Fatalf("error %v is not a *ValidationError for the group name", err)
			}
		})
	}
}

func TestKindAndLevelStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{ClusterGroup.String(), "cluster"},
		{InstanceGroup.String(), "instance"},
		{Kind(9).String(), "Kind(9)"},
		{Both.String(), "both"},
		{ClusterOnly.String(), "cluster-only"},
		{InstanceOnly.String(), "instance-only"},
		{TypeBool.String(), "bool"},
		{TypeList.String(), "list"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
