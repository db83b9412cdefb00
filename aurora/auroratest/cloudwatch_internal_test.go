package auroratest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"
)

func TestCBORDecode(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 0, 0, 500_000_000, time.UTC)
	v := cbor.Map{
		"StartTime":     &cbor.Tag{ID: 1, Value: cbor.Float64(float64(at.UnixMilli()) / 1e3)},
		"EndTime":       &cbor.Tag{ID: 1, Value: cbor.Uint(at.Unix() + 60)},
		"MaxDatapoints": cbor.Uint(7),
		"ScanBy":        cbor.String("TimestampAscending"),
		"MetricDataQueries": cbor.List{cbor.Map{
			"Id":         cbor.String("m1"),
			"ReturnData": cbor.Bool(false),
			"MetricStat": cbor.Map{
				"Period": cbor.Uint(60), "Stat": cbor.String("p99.5"),
				"Metric": cbor.Map{"Namespace": cbor.String("AWS/RDS"), "MetricName": cbor.String("CPUUtilization"),
					"Dimensions": cbor.List{cbor.Map{"Name": cbor.String("DBInstanceIdentifier"), "Value": cbor.String("a")}}},
			},
			"Label": &cbor.Nil{},
		}},
	}
	var got getMetricDataInput
	if err := cborDecode("GetMetricData", "", cbor.Value(v), reflect.ValueOf(&got).Elem()); err != nil {
		t.Fatal(err)
	}
	end := time.Unix(at.Unix()+60, 0).UTC()
	s := func(x string) *string { return &x }
	i := func(x int32) *int32 { return &x }
	f := false
	want := getMetricDataInput{StartTime: &at, EndTime: &end, MaxDatapoints: i(7), ScanBy: "TimestampAscending",
		MetricDataQueries: []cwMetricDataQuery{{Id: s("m1"), ReturnData: &f, MetricStat: &cwMetricStat{Period: i(60), Stat: s("p99.5"),
			Metric: &cwMetric{Namespace: s("AWS/RDS"), MetricName: s("CPUUtilization"), Dimensions: []cwDimension{{s("DBInstanceIdentifier"), s("a")}}}}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name string
		v    cbor.Value
		want string
	}{
		{"unknown member", cbor.Map{"Bogus": cbor.Uint(1)}, "member Bogus of GetMetricData"},
		{"unknown nested member", cbor.Map{"MetricDataQueries": cbor.List{cbor.Map{"AccountId": cbor.String("1")}}}, "member AccountId of MetricDataQueries[0] of GetMetricData"},
		{"wrong type", cbor.Map{"MaxDatapoints": cbor.String("7")}, "MaxDatapoints of GetMetricData must be an integer"},
		{"overflow", cbor.Map{"MaxDatapoints": cbor.Uint(1 << 40)}, "must be an integer"},
		{"timestamp without tag", cbor.Map{"StartTime": cbor.Uint(1)}, "must be a timestamp"},
		{"not a list", cbor.Map{"MetricDataQueries": cbor.Map{}}, "must be a list"},
		{"not a structure", cbor.String("x"), "must be a structure"},
	} {
		var in getMetricDataInput
		err := cborDecode("GetMetricData", "", tc.v, reflect.ValueOf(&in).Elem())
		var ce *apiError
		if !errors.As(err, &ce) || !strings.Contains(ce.message, tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestCBOREncode(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 0, 0, 250_000_000, time.UTC)
	out := getMetricDataOutput{MetricDataResults: []cwMetricDataResult{{Id: aws.String("m"), Timestamps: []time.Time{at}, Values: []float64{-1.5}, StatusCode: "Complete"}}}
	got, err := cbor.Decode(cbor.Encode(cborEncode(reflect.ValueOf(out))))
	if err != nil {
		t.Fatal(err)
	}
	want := cbor.Map{"MetricDataResults": cbor.List{cbor.Map{
		"Id": cbor.String("m"), "StatusCode": cbor.String("Complete"),
		"Timestamps": cbor.List{&cbor.Tag{ID: 1, Value: cbor.Float64(float64(at.UnixMilli()) / 1e3)}},
		"Values":     cbor.List{cbor.Float64(-1.5)},
	}}}
	if diff := cmp.Diff(cbor.Value(want), got); diff != "" {
		t.Errorf("encoded (-want +got):\n%s", diff)
	}
	m := cborEncode(reflect.ValueOf(cwMetricAlarm{Period: 60, Threshold: 0, ActionsEnabled: false, EvaluationPeriods: -2})).(cbor.Map)
	if m["Threshold"] != cbor.Float64(0) || m["ActionsEnabled"] != cbor.Bool(false) || m["EvaluationPeriods"] != cbor.NegInt(2) {
		t.Errorf("numbers and booleans are always written: %v", m)
	}
	if _, ok := m["AlarmName"]; ok {
		t.Errorf("a nil pointer is written: %v", m)
	}
}

// FuzzCBORDecode: no request body panics the decoder.
func FuzzCBORDecode(f *testing.F) {
	f.Add(cbor.Encode(cbor.Map{"MetricDataQueries": cbor.List{cbor.Map{"Id": cbor.String("a")}}}))
	f.Add(cbor.Encode(cbor.Map{"StartTime": &cbor.Tag{ID: 1, Value: cbor.Float64(1.5)}}))
	f.Add([]byte{0xbf, 0x61, 0x61, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := cbor.Decode(b)
		if err != nil {
			return
		}
		for _, typ := range []reflect.Type{reflect.TypeFor[getMetricDataInput](), reflect.TypeFor[putMetricAlarmInput](), reflect.TypeFor[describeAlarmsInput]()} {
			_ = cborDecode("Op", "", v, reflect.New(typ).Elem())
		}
	})
}

func TestStat(t *testing.T) {
	vs := []float64{4, 1, 3, 2}
	for _, tc := range []struct {
		stat string
		want float64
	}{{"Average", 2.5}, {"Sum", 10}, {"Minimum", 1}, {"Maximum", 4}, {"SampleCount", 4}, {"p50", 2}, {"p75", 3}, {"p99", 4}, {"p100", 4}, {"p0", 1}} {
		if got := stat(tc.stat, vs); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.stat, got, tc.want)
		}
	}
	for _, bad := range []string{"p101", "tm99", "average", "p"} {
		if checkStat("Stat", bad) == nil {
			t.Errorf("checkStat(%q) accepts it", bad)
		}
	}
}

// An alarm's state for datapoints present, missing and breaching, per
// TreatMissingData.
func TestAlarmEvaluation(t *testing.T) {
	now := time.Date(2026, 12, 4, 20, 0, 35, 0, time.UTC) // the period in progress began at :30
	d := dims{{"DBInstanceIdentifier", "a"}}
	for _, tc := range []struct {
		name   string
		values map[int]float64 // by seconds before the period in progress; missing = no sample
		treat  string
		m      int32
		start  string
		want   string
	}{
		{"all breach", map[int]float64{0: 9, 10: 9, 20: 9}, "missing", 3, stateInsufficient, stateAlarm},
		{"two of three", map[int]float64{0: 9, 10: 1, 20: 9}, "missing", 2, stateOK, stateAlarm},
		{"one of three", map[int]float64{0: 9, 10: 1, 20: 1}, "missing", 2, stateAlarm, stateOK},
		{"no data, missing", nil, "missing", 1, stateOK, stateInsufficient},
		{"no data, notBreaching", nil, "notBreaching", 1, stateAlarm, stateOK},
		{"no data, breaching", nil, "breaching", 3, stateOK, stateAlarm},
		{"no data, ignore", nil, "ignore", 1, stateAlarm, stateAlarm},
		{"missing ones breach", map[int]float64{0: 9}, "breaching", 3, stateOK, stateAlarm},
		{"missing ones do not", map[int]float64{0: 9}, "notBreaching", 2, stateAlarm, stateOK},
	} {
		cw := &cloudWatch{}
		for ago, v := range tc.values {
			cw.record("DatabaseConnections", d, "Count", now.Truncate(10*time.Second).Add(-time.Duration(ago)*time.Second).Add(time.Second), v)
		}
		a := &alarm{name: "x", metricName: "DatabaseConnections", namespace: rdsNamespace, dims: d, statistic: "Maximum",
			period: 10, evaluationPeriods: 3, datapointsToAlarm: tc.m, threshold: 5, comparison: "GreaterThanThreshold",
			treatMissing: tc.treat, state: tc.start, reason: "before"}
		cw.evaluate(a, now)
		if a.state != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, a.state, a.reason, tc.want)
		}
		if tc.want != tc.start && (a.transitioned != now || !strings.Contains(a.reason, tc.start+" -> "+tc.want) && tc.want != stateInsufficient) {
			t.Errorf("%s: transition at %v, reason %q", tc.name, a.transitioned, a.reason)
		}
	}
}

// BenchmarkMetricsSample measures one sample of a two-instance cluster:
// what every metrics period costs once CloudWatch has been called.
func BenchmarkMetricsSample(b *testing.B) {
	ctx := context.Background()
	e, err := Start(ctx, WithCluster("bench", ClusterConfig{Instances: 2}))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	s := &sampler{conns: map[string]*samplerConn{}, prev: map[string]counters{}}
	e.sample(ctx, s, time.Now()) // connects
	b.ResetTimer()
	for b.Loop() {
		e.sample(ctx, s, time.Now())
	}
	b.StopTimer()
	for _, c := range s.conns {
		_ = c.conn.Close(ctx)
	}
}

// PutMetricAlarm on an existing alarm keeps its tags: AWS ignores Tags
// on an update.
func TestPutMetricAlarmKeepsTags(t *testing.T) {
	e := &Emulator{}
	put := func(threshold float64, tags ...cwTag) {
		t.Helper()
		in := &putMetricAlarmInput{AlarmName: aws.String("a"), MetricName: aws.String("CPUUtilization"), Namespace: aws.String(rdsNamespace),
			Statistic: "Average", Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(threshold),
			ComparisonOperator: "GreaterThanThreshold", Tags: tags}
		if _, err := e.putMetricAlarm(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	put(1, cwTag{aws.String("team"), aws.String("db")})
	put(2, cwTag{aws.String("team"), aws.String("web")}, cwTag{aws.String("x"), aws.String("y")})
	a := e.cw.alarms["a"]
	if a.threshold != 2 {
		t.Errorf("threshold %v after the update, want 2", a.threshold)
	}
	if len(a.tags) != 1 || *a.tags[0].Key != "team" || *a.tags[0].Value != "db" {
		t.Errorf("tags after the update: %+v, want team=db only", a.tags)
	}
}

// A series stays in time order, drops its oldest points in a batch once
// it holds a quarter more than maxPoints, and buckets reads [from, to).
func TestSeriesRecordAndBuckets(t *testing.T) {
	cw := &cloudWatch{}
	d := dims{{"DBInstanceIdentifier", "a"}}
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	cw.record("M", d, "Count", at(2), 2)
	cw.record("M", d, "Count", at(0), 0) // older: goes first
	cw.record("M", d, "Count", at(1), 1)
	s := cw.series[seriesKey("M", d)]
	got := s.buckets(at(1), at(3), at(3), time.Second, "Sum")
	if len(got) != 2 || got[0].v != 1 || !got[0].t.Equal(at(1)) || got[1].v != 2 {
		t.Errorf("buckets [1s, 3s): %+v, want 1 at 1s and 2 at 2s", got)
	}
	for i := 3; i < maxPoints*5/4; i++ {
		cw.record("M", d, "Count", at(i), float64(i))
	}
	if len(s.pts) != maxPoints*5/4 {
		t.Fatalf("%d points, want %d before the trim", len(s.pts), maxPoints*5/4)
	}
	cw.record("M", d, "Count", at(maxPoints*5/4), 1)
	if len(s.pts) != maxPoints || !s.pts[0].t.Equal(at(maxPoints*5/4-maxPoints+1)) || !s.pts[maxPoints-1].t.Equal(at(maxPoints*5/4)) {
		t.Errorf("after the trim: %d points from %v to %v", len(s.pts), s.pts[0].t, s.pts[len(s.pts)-1].t)
	}
}
