package aurora_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/pgaudit"
)

var (
	auditBenchMB  = flag.Int("aurora.auditmb", 200, "MB of audit log BenchmarkAuditLogRead reads, over four log files")
	auditBenchRTT = flag.Duration("aurora.auditrtt", 20*time.Millisecond, "the round trip the latency proxy of BenchmarkAuditLogRead adds")
)

// auditBenchLog is about n bytes of pgAudit log in RDS's format: session
// and object entries of every class, statements of varied length, some
// over several lines, parameters, row counts.
func auditBenchLog(n int, at time.Time) []byte {
	var b bytes.Buffer
	stamp := at.UTC().Format("2006-01-02 15:04:05 UTC")
	users := []string{"app", "report", "etl"}
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s:10.0.%d.%d(%d):%s@shop:[%d]:LOG:  AUDIT: ", stamp, i%7, i%250, 40000+i%20000, users[i%3], 3000+i%40)
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "SESSION,%d,1,WRITE,INSERT,TABLE,public.orders,\"INSERT INTO orders(customer, total, note) VALUES ($1, $2, $3)\",\"%d,%d.50,\"\"rush, gift\"\"\",1\n", i, i%9000, i%700)
		case 1:
			fmt.Fprintf(&b, "SESSION,%d,1,READ,SELECT,,,\"SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer WHERE o.created > now() - interval '1 day' AND c.region = 'eu-west-%d'\",<not logged>,%d\n", i, i%3, i%400)
		case 2:
			fmt.Fprintf(&b, "OBJECT,%d,1,WRITE,UPDATE,TABLE,public.customers,\"UPDATE customers\n\t   SET last_seen = now()\n\t WHERE id = %d\",<none>,1\n", i, i)
		case 3:
			fmt.Fprintf(&b, "SESSION,%d,1,DDL,CREATE TABLE,TABLE,public.tmp_%d,CREATE TABLE tmp_%d(id int),<none>,0\n", i, i, i)
		case 4:
			fmt.Fprintf(&b, "SESSION,%d,1,ROLE,ALTER ROLE,,,ALTER ROLE report PASSWORD <REDACTED>,<none>,0\n", i)
		default:
			fmt.Fprintf(&b, "SESSION,%d,2,FUNCTION,EXECUTE,FUNCTION,public.refresh_totals,SELECT refresh_totals(),<previously logged>,0\n", i)
		}
	}
	return b.Bytes()
}

// sequentialAuditRead is the reader AuditEntries was before it was
// pipelined, kept here as the benchmark's baseline: the files one after
// another, each downloaded one DownloadDBLogFilePortion after another
// into a pipe that the pgaudit reader parses, so that the next portion is
// requested only once the last one has been parsed.
func sequentialAuditRead(ctx context.Context, api aurora.RDSAPI, instance string) (int, error) {
	out, err := api.DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(instance)})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range out.DescribeDBLogFiles {
		pr, pw := io.Pipe()
		go func() {
			marker := "0"
			for {
				res, err := api.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
					DBInstanceIdentifier: aws.String(instance), LogFileName: f.LogFileName,
					Marker: aws.String(marker), NumberOfLines: aws.Int32(aurora.DefaultLogLinesPerCall),
				})
				if err != nil {
					pw.CloseWithError(err)
					return
				}
				if _, err := io.WriteString(pw, aws.ToString(res.LogFileData)); err != nil {
					return
				}
				if !aws.ToBool(res.AdditionalDataPending) {
					pw.Close()
					return
				}
				marker = aws.ToString(res.Marker)
			}
		}()
		for _, err := range pgaudit.Entries(pr, nil) {
			var pe *pgaudit.ParseError
			if err != nil && !errors.As(err, &pe) {
				pr.Close()
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// BenchmarkAuditLogRead reads 200 MB of audit log spread over four log
// files through the RDS API of the emulator, behind a proxy that adds
// 20 ms to every round trip, with the sequential reader of before
// (baseline) and with AuditEntries: by portions (pipelined, four files
// at once) and with WholeFiles; and both again without the proxy. It
// reports each one's MB/s and the ratios: speedup (WholeFiles over the
// baseline, through the proxy), of-own-rate (WholeFiles through the proxy
// over WholeFiles without it), and the same two for the portions
// (portions-speedup, portions-of-own-rate). Each iteration runs them all,
// so that a noisy machine slows them alike.
//
// The portions are bound by the CPU rather than the network here: the
// SDK decodes each 1 MB DownloadDBLogFilePortion response with
// encoding/xml at a few tens of MB/s of CPU, and the emulator encodes it
// on the same two cores, so pipelining them hides the round trips but
// gains little more; WholeFiles streams plain text.
//
//	go test -run '^$' -bench '^BenchmarkAuditLogRead$' -benchtime 1x ./aurora/
func BenchmarkAuditLogRead(b *testing.B) {
	ctx := context.Background()
	bemu := auroratest.NewT(b, auroratest.WithCluster("auditbench", auroratest.ClusterConfig{Instances: 1}))
	const id = "auditbench-instance-1"
	per := *auditBenchMB << 20 / 4
	for i := range 4 {
		if i > 0 {
			if _, err := bemu.RotateLog(id); err != nil {
				b.Fatal(err)
			}
		}
		if err := bemu.AppendLog(id, auditBenchLog(per, time.Now())); err != nil {
			b.Fatal(err)
		}
	}
	direct := bemu.AWSConfig()
	u, err := url.Parse(bemu.Endpoint())
	if err != nil {
		b.Fatal(err)
	}
	proxied := direct.Copy()
	proxied.BaseEndpoint = aws.String("http://" + pgtest.LatencyProxy(b, u.Host, *auditBenchRTT).String())

	files, err := rds.NewFromConfig(direct).DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range files.DescribeDBLogFiles {
		size += aws.ToInt64(f.Size)
	}
	b.Logf("%d log files, %.1f MB; round trip added by the proxy: %v", len(files.DescribeDBLogFiles), float64(size)/1e6, *auditBenchRTT)

	cluster := func(cfg aws.Config) *aurora.Cluster {
		c, err := aurora.New("auditbench", aurora.WithAWSConfig(cfg))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		return c
	}
	slow, fast := cluster(proxied), cluster(direct)
	ours := func(c *aurora.Cluster, whole bool) func() (int, error) {
		return func() (int, error) {
			n := 0
			for _, err := range c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: id, WholeFiles: whole}) {
				var pe *pgaudit.ParseError
				if err != nil && !errors.As(err, &pe) {
					return n, err
				}
				n++
			}
			return n, nil
		}
	}
	runs := []struct {
		name string
		read func() (int, error)
		secs float64
	}{
		{"baseline", func() (int, error) { return sequentialAuditRead(ctx, rds.NewFromConfig(proxied), id) }, 0},
		{"ours", ours(slow, false), 0},
		{"ours-whole", ours(slow, true), 0},
		{"ours-nolatency", ours(fast, false), 0},
		{"ours-whole-nolatency", ours(fast, true), 0},
	}
	counts := make([]int, len(runs))
	b.ResetTimer()
	for range b.N {
		for i := range runs {
			start := time.Now()
			n, err := runs[i].read()
			if err != nil {
				b.Fatalf("%s: %v", runs[i].name, err)
			}
			runs[i].secs += time.Since(start).Seconds()
			counts[i] = n
		}
	}
	b.StopTimer()
	for i := range runs {
		if counts[i] != counts[0] {
			b.Fatalf("%s read %d entries, %s %d", runs[i].name, counts[i], runs[0].name, counts[0])
		}
	}
	mbps := func(i int) float64 { return float64(size) * float64(b.N) / 1e6 / runs[i].secs }
	for i := range runs {
		b.ReportMetric(mbps(i), runs[i].name+"-MB/s")
	}
	b.ReportMetric(mbps(2)/mbps(0), "speedup")
	b.ReportMetric(mbps(2)/mbps(4), "of-own-rate")
	b.ReportMetric(mbps(1)/mbps(0), "portions-speedup")
	b.ReportMetric(mbps(1)/mbps(3), "portions-of-own-rate")
	b.ReportMetric(0, "ns/op")
}
