package auroratest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// bigLog is a log in the server's format of about n bytes, with the
// things that make portions hard to join: lines longer than a portion,
// multi-byte characters wherever a cut may fall, continuation lines.
func bigLog(n int) []byte {
	var b bytes.Buffer
	stamp := time.Now().UTC().Format("2006-01-02 15:04:05 UTC")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s:10.0.0.%d(5432):app@db:[%d]:LOG:  AUDIT: SESSION,%d,1,WRITE,INSERT,TABLE,public.t,\"INSERT INTO t VALUES ('", stamp, i%250, 1000+i%9, i)
		switch {
		case i%97 == 0:
			b.WriteString(strings.Repeat("é東", 250_000)) // a 1.25 MB line
		case i%3 == 0:
			b.WriteString("naïve café, 東京\n\t  second line")
		default:
			b.WriteString(strings.Repeat("x", i%200))
		}
		b.WriteString("')\",<not logged>\n")
	}
	return b.Bytes()
}

// logFiles lists an instance's log files.
func logFiles(t *testing.T, ctx context.Context, c *rds.Client, id string) []types.DescribeDBLogFilesDetails {
	t.Helper()
	out, err := c.DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeDBLogFiles: %v", err)
	}
	return out.DescribeDBLogFiles
}

// downloadPortions reads a log file with DownloadDBLogFilePortion from
// Marker "0", checking each response against RDS's limits.
func downloadPortions(t *testing.T, ctx context.Context, c *rds.Client, id, name string) ([]byte, int) {
	t.Helper()
	var data bytes.Buffer
	marker, calls := "0", 0
	for {
		out, err := c.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
			DBInstanceIdentifier: aws.String(id), LogFileName: aws.String(name), Marker: aws.String(marker), NumberOfLines: aws.Int32(10000),
		})
		if err != nil {
			t.Fatalf("DownloadDBLogFilePortion %s from %s: %v", name, marker, err)
		}
		calls++
		part := aws.ToString(out.LogFileData)
		if len(part) > 1<<20 || !utf8.ValidString(part) {
			t.Fatalf("portion from %s: %d bytes, valid UTF-8 %v", marker, len(part), utf8.ValidString(part))
		}
		data.WriteString(part)
		next, pending := aws.ToString(out.Marker), aws.ToBool(out.AdditionalDataPending)
		if pending != (next != "") {
			t.Fatalf("AdditionalDataPending %v with Marker %q", pending, next)
		}
		if !pending {
			return data.Bytes(), calls
		}
		marker = next
	}
}

// signedGet is a GET of the whole-file REST path, signed as aws-sdk-go-v2
// signs (Authorization header) with the given secret key.
func signedGet(t *testing.T, ctx context.Context, emu *auroratest.Emulator, path, secret string, at time.Time) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, emu.Endpoint()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := emu.AWSConfig().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		creds.SecretAccessKey = secret
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "rds", emu.Region(), at); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// restCode is the status and error code of a REST response.
func restCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return "200"
	}
	_, code, _ := strings.Cut(string(body), "<Code>")
	code, _, _ = strings.Cut(code, "</Code>")
	return fmt.Sprint(resp.StatusCode, " ", code)
}

// TestLogFilePortionsAndWholeFiles writes 3 MB of hard-to-join log into
// an instance's log, rotates it, and reads every file back through the
// real SDK client: DownloadDBLogFilePortion (at most 1 MB a response, the
// Marker and AdditionalDataPending as documented) and the signed
// whole-file REST path give the same bytes, which hold the text written,
// whole and in order.
func TestLogFilePortionsAndWholeFiles(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := auroratest.NewT(t, auroratest.WithCluster("logs", auroratest.ClusterConfig{Instances: 1}))
	c := rds.NewFromConfig(emu.AWSConfig())
	const id = "logs-instance-1"

	before := logFiles(t, ctx, c, id)
	if len(before) == 0 {
		t.Fatal("a new instance has no log file")
	}
	text := bigLog(3 << 20)
	if err := emu.AppendLog(id, text); err != nil {
		t.Fatal(err)
	}
	if err := emu.AppendLog(id, []byte("no newline")); err == nil {
		t.Error("AppendLog took text without a final newline")
	}
	rotated, err := emu.RotateLog(id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rotated, "error/postgresql.log.") {
		t.Errorf("RotateLog named the new file %q", rotated)
	}
	second := bigLog(200 << 10)
	if err := emu.AppendLog(id, second); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, ctx, c, id)
	var names []string
	for _, f := range files {
		names = append(names, aws.ToString(f.LogFileName))
	}
	if len(files) < 2 || names[len(names)-1] != rotated {
		t.Fatalf("files after a rotation: %v, want %s last", names, rotated)
	}

	var all, whole bytes.Buffer
	for k, f := range files {
		name := aws.ToString(f.LogFileName)
		data, calls := downloadPortions(t, ctx, c, id, name)
		// The server may write to its newest file between the two calls.
		if n, size := int64(len(data)), aws.ToInt64(f.Size); n != size && (k < len(files)-1 || n < size) {
			t.Errorf("%s: %d bytes downloaded, DescribeDBLogFiles says %d", name, len(data), aws.ToInt64(f.Size))
		}
		if len(data) > 2<<20 && calls < 3 {
			t.Errorf("%s: %d bytes in %d portions of at most 1 MB", name, len(data), calls)
		}
		all.Write(data)
		resp := signedGet(t, ctx, emu, "/v19/downloadCompleteLogFile/"+id+"/"+name, "", time.Now())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("whole-file download of %s: %s", name, restCode(t, resp))
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, data) && (k < len(files)-1 || !bytes.HasPrefix(body, data)) {
			t.Errorf("%s: the whole-file download (%d bytes) differs from the portions (%d bytes)", name, len(body), len(data))
		}
		whole.Write(body)
	}
	// second is a prefix of text (the same lines, fewer): look for it
	// after text.
	i := bytes.Index(all.Bytes(), text)
	j := -1
	if i >= 0 {
		j = bytes.Index(all.Bytes()[i+len(text):], second)
	}
	if i < 0 || j < 0 {
		t.Fatalf("the written text is not in the downloaded files whole and in order (at %d and %d of %d bytes)", i, j, all.Len())
	}

	// The most recent lines, without a Marker.
	out, err := c.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
		DBInstanceIdentifier: aws.String(id), LogFileName: aws.String(rotated), NumberOfLines: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	if tail := aws.ToString(out.LogFileData); strings.Count(tail, "\n") > 3 || !bytes.HasSuffix(all.Bytes(), []byte(tail)) || tail == "" {
		t.Errorf("the last 3 lines: %q", tail)
	}

	// Refusals.
	var ae smithy.APIError
	_, err = c.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
		DBInstanceIdentifier: aws.String(id), LogFileName: aws.String("error/postgresql.log.1999-01-01-00"), Marker: aws.String("0")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "DBLogFileNotFoundFault" {
		t.Errorf("an unknown file: %v", err)
	}
	_, err = c.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
		DBInstanceIdentifier: aws.String(id), LogFileName: aws.String(rotated), Marker: aws.String("0:999999999")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("a marker past the end: %v", err)
	}
	path := "/v13/downloadCompleteLogFile/" + id + "/" + rotated
	for _, tc := range []struct {
		name string
		resp func() *http.Response
		want string
	}{
		{"v13 path", func() *http.Response { return signedGet(t, ctx, emu, path, "", time.Now()) }, "200"},
		{"unsigned", func() *http.Response {
			resp, err := http.Get(emu.Endpoint() + path)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}, "403 MissingAuthenticationToken"},
		{"wrong secret", func() *http.Response { return signedGet(t, ctx, emu, path, "not-the-secret", time.Now()) }, "403 SignatureDoesNotMatch"},
		{"an hour old", func() *http.Response { return signedGet(t, ctx, emu, path, "", time.Now().Add(-time.Hour)) }, "403 RequestExpired"},
		{"unknown instance", func() *http.Response {
			return signedGet(t, ctx, emu, "/v19/downloadCompleteLogFile/nope/"+rotated, "", time.Now())
		}, "404 DBInstanceNotFound"},
		{"unknown file", func() *http.Response {
			return signedGet(t, ctx, emu, "/v19/downloadCompleteLogFile/"+id+"/error/nope", "", time.Now())
		}, "404 DBLogFileNotFoundFault"},
		{"presigned URL", func() *http.Response {
			creds, _ := emu.AWSConfig().Credentials.Retrieve(ctx)
			req, _ := http.NewRequest(http.MethodGet, emu.Endpoint()+path+"?X-Amz-Expires=300", nil)
			u, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "rds", emu.Region(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}, "200"},
		{"presigned URL, changed", func() *http.Response {
			creds, _ := emu.AWSConfig().Credentials.Retrieve(ctx)
			req, _ := http.NewRequest(http.MethodGet, emu.Endpoint()+path+"?X-Amz-Expires=300", nil)
			u, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "rds", emu.Region(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			pu, _ := url.Parse(u)
			q := pu.Query()
			q.Set("X-Amz-Expires", "600")
			pu.RawQuery = q.Encode()
			resp, err := http.Get(pu.String())
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}, "403 SignatureDoesNotMatch"},
		{"a fault", func() *http.Response {
			emu.Action("DownloadCompleteDBLogFile").FailNext(1, auroratest.Fault{Code: "ServiceUnavailable", StatusCode: 503})
			return signedGet(t, ctx, emu, path, "", time.Now())
		}, "503 ServiceUnavailable"},
		{"after the fault", func() *http.Response { return signedGet(t, ctx, emu, path, "", time.Now()) }, "200"},
	} {
		if got := restCode(t, tc.resp()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if n := emu.CallCount("DownloadCompleteDBLogFile"); n < len(files)+8 {
		t.Errorf("CallCount(DownloadCompleteDBLogFile) = %d", n)
	}
}
