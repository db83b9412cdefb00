package auroratest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

func TestCheckIAMToken(t *testing.T) {
	const ep = "127.0.1.9:5432"
	keys := iamKeys{accessKeyID, secretAccessKey, "us-east-1"}
	token, err := auth.BuildAuthToken(context.Background(), ep, keys.region, "alice", credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name, token, user string
		endpoints         []string
		keys              iamKeys
		at                time.Time
		want              string // "" accepts; else a part of the error
	}{
		{"valid", token, "alice", []string{ep}, keys, now, ""},
		{"valid with a path", strings.Replace(token, "?", "/?", 1), "alice", []string{ep}, keys, now, ""},
		{"14 minutes later", token, "alice", []string{ep}, keys, now.Add(14 * time.Minute), ""},
		{"16 minutes later", token, "alice", []string{ep}, keys, now.Add(16 * time.Minute), "expired"},
		{"signed in the future", token, "alice", []string{ep}, keys, now.Add(-10 * time.Minute), "future"},
		{"another user", token, "bob", []string{ep}, keys, now, `for user "alice"`},
		{"another endpoint", token, "alice", []string{"127.0.1.10:5432"}, keys, now, "not an endpoint"},
		{"another secret", token, "alice", []string{ep}, iamKeys{accessKeyID, "other", "us-east-1"}, now, "signature"},
		{"another Region", token, "alice", []string{ep}, iamKeys{accessKeyID, secretAccessKey, "eu-west-1"}, now, "Region"},
		{"user changed", strings.Replace(token, "DBUser=alice", "DBUser=bob", 1), "bob", []string{ep}, keys, now, "signature"},
		{"a parameter twice", token + "&DBUser=alice", "alice", []string{ep}, keys, now, "2 times"},
		{"a password", "s3cret", "alice", []string{ep}, keys, now, "not an IAM authentication token"},
	} {
		err := checkIAMToken(tc.token, tc.user, tc.endpoints, tc.keys, tc.at)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), token[len(token)-64:]) {
			t.Errorf("%s: the error holds the signature", tc.name)
		}
	}
}
