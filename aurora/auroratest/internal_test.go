package auroratest

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSplitLog(t *testing.T) {
	mod := time.Date(2024, 5, 6, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		log  string
		want []string // name:text per file
	}{
		{"empty", "", nil},
		{"one hour", "2024-05-06 10:00:01 UTC::@:[1]:LOG:  a\n2024-05-06 10:59:59 UTC::@:[1]:LOG:  b\n",
			[]string{"error/postgresql.log.2024-05-06-10:2024-05-06 10:00:01 UTC::@:[1]:LOG:  a\n2024-05-06 10:59:59 UTC::@:[1]:LOG:  b\n"}},
		{"two hours with a continuation line", "2024-05-06 10:00:01 UTC::@:[1]:LOG:  a\n\tDETAIL\n2024-05-06 11:00:00 UTC::@:[1]:LOG:  b",
			[]string{"error/postgresql.log.2024-05-06-10:2024-05-06 10:00:01 UTC::@:[1]:LOG:  a\n\tDETAIL\n",
				"error/postgresql.log.2024-05-06-11:2024-05-06 11:00:00 UTC::@:[1]:LOG:  b"}},
		{"lines before the first stamp", "plain\n2024-05-06 09:00:00 UTC::@:[1]:LOG:  x\n",
			[]string{"error/postgresql.log.2024-05-06-12:plain\n", "error/postgresql.log.2024-05-06-09:2024-05-06 09:00:00 UTC::@:[1]:LOG:  x\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range splitLog([]byte(tc.log), mod) {
				got = append(got, f.name+":"+tc.log[f.start:f.end])
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("splitLog (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzSplitLog(f *testing.F) {
	f.Add("2024-05-06 10:00:01 UTC::@:[1]:LOG:  a\n\tDETAIL\n2024-05-06 11:00:00 UTC::@:[1]:LOG:  b")
	f.Add("no stamp\n\n\n")
	f.Add("2024-13-45 99:99:99 UTC:x\n")
	f.Fuzz(func(t *testing.T, log string) {
		files := splitLog([]byte(log), time.Unix(0, 0))
		at := 0
		for _, fl := range files {
			if fl.start != at || fl.end < fl.start || !strings.HasPrefix(fl.name, logFilePrefix) {
				t.Fatalf("file %+v does not continue at %d", fl, at)
			}
			at = fl.end
		}
		if at != len(log) {
			t.Fatalf("files cover %d of %d bytes", at, len(log))
		}
	})
}

// decodeTestIn exercises every kind of field the decoder knows.
type decodeTestIn struct {
	Name       string `rds:"DBName,required"`
	Flag       bool
	Opt        *bool
	Count      *int
	When       *time.Time
	Parameters []parameterIn `rds:",list=Parameter"`
	IDs        []string      `rds:",list=member"`
	Config     *struct {
		Enable []string `rds:",list=member"`
	}
	listIn
}

func TestDecodeForm(t *testing.T) {
	form := url.Values{
		"DBName":                                {"db1"},
		"Flag":                                  {"true"},
		"Opt":                                   {"False"},
		"Count":                                 {"7"},
		"When":                                  {"2024-05-06T10:00:01Z"},
		"Parameters.Parameter.2.ParameterName":  {"b"},
		"Parameters.Parameter.1.ParameterName":  {"a"},
		"Parameters.Parameter.1.ParameterValue": {"1"},
		"Parameters.Parameter.10.ApplyMethod":   {"immediate"},
		"IDs":                                   {""},
		"Config.Enable.member.1":                {"postgresql"},
		"Filters.Filter.1.Name":                 {"db-cluster-id"},
		"Filters.Filter.1.Values.Value.2":       {"y"},
		"Filters.Filter.1.Values.Value.1":       {"x"},
		"MaxRecords":                            {"20"},
	}
	var got decodeTestIn
	if err := decodeForm("Test", form, &got); err != nil {
		t.Fatal(err)
	}
	one, imm := "1", "immediate"
	want := decodeTestIn{Name: "db1", Flag: true, Opt: new(bool), Count: new(int), When: new(time.Time),
		Parameters: []parameterIn{{ParameterName: "a", ParameterValue: &one}, {ParameterName: "b"}, {ApplyMethod: &imm}},
		IDs:        []string{},
		Config: &struct {
			Enable []string `rds:",list=member"`
		}{Enable: []string{"postgresql"}},
	}
	*want.Count = 7
	*want.When = time.Date(2024, 5, 6, 10, 0, 1, 0, time.UTC)
	want.Filters = []filterIn{{Name: "db-cluster-id", Values: []string{"x", "y"}}}
	want.MaxRecords = new(int)
	*want.MaxRecords = 20
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(decodeTestIn{}, listIn{})); diff != "" {
		t.Errorf("decodeForm (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name, code string
		form       url.Values
	}{
		{"missing required", "MissingParameter", url.Values{"Flag": {"true"}}},
		{"empty required", "MissingParameter", url.Values{"DBName": {""}}},
		{"unknown parameter", "InvalidParameterValue", url.Values{"DBName": {"x"}, "Bogus": {"1"}}},
		{"unknown member of a list element", "InvalidParameterValue", url.Values{"DBName": {"x"}, "Parameters.Parameter.1.Colour": {"red"}}},
		{"bad bool", "InvalidParameterValue", url.Values{"DBName": {"x"}, "Flag": {"yes"}}},
		{"bad int", "InvalidParameterValue", url.Values{"DBName": {"x"}, "Count": {"seven"}}},
		{"bad time", "InvalidParameterValue", url.Values{"DBName": {"x"}, "When": {"yesterday"}}},
		{"bad index", "InvalidParameterValue", url.Values{"DBName": {"x"}, "IDs.member.0": {"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in decodeTestIn
			err := decodeForm("Test", tc.form, &in)
			ae, ok := err.(*apiError)
			if !ok || ae.code != tc.code {
				t.Fatalf("decodeForm = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestDescribeHelper(t *testing.T) {
	items := make([]int, 250)
	for i := range items {
		items[i] = i
	}
	fs := filterSet[int]{"parity": func(i int) []string {
		if i%2 == 0 {
			return []string{"even"}
		}
		return []string{"odd"}
	}}
	var all []int
	p := pageIn{MaxRecords: new(int)}
	*p.MaxRecords = 20
	for pages := 0; ; pages++ {
		got, next, err := describe(items, fs, []filterIn{{Name: "parity", Values: []string{"EVEN"}}}, p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
		if next == "" {
			break
		}
		p.Marker = next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != 125 || all[0] != 0 || all[124] != 248 {
		t.Errorf("paged %d even items (%v...), want 125 from 0 to 248", len(all), all[:min(3, len(all))])
	}
	if _, _, err := describe(items, fs, []filterIn{{Name: "colour", Values: []string{"x"}}}, pageIn{}); err == nil || !strings.Contains(err.Error(), "parity") {
		t.Errorf("an unknown filter: %v, want an error naming the supported ones", err)
	}
	for _, bad := range []pageIn{{MaxRecords: new(int)}, {Marker: "bogus"}} {
		if _, _, err := describe(items, fs, nil, bad); err == nil {
			t.Errorf("describe accepted paging %+v", bad)
		}
	}
}

func FuzzDecodeForm(f *testing.F) {
	f.Add("DBName=a&Parameters.Parameter.1.ParameterName=a&Filters.Filter.1.Name=x&Filters.Filter.1.Values.Value.1=y&MaxRecords=20&Marker=abc")
	f.Add("DBName=a&Filters.Filter.0.Name=&Parameters.Parameter.-1.X=1")
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		var in decodeTestIn
		err = decodeForm("Test", form, &in)
		if err == nil && in.Name == "" {
			t.Fatal("accepted a request without its required parameter")
		}
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("error %v is not an API error", err)
			}
			return
		}
		got, _, err := page(make([]int, 250), in.pageIn)
		if err == nil && len(got) > 100 {
			t.Fatalf("page of %d items", len(got))
		}
	})
}

func TestMarkers(t *testing.T) {
	for _, n := range []int{0, 1, 100, 12345} {
		got, err := decodeMarker(encodeMarker(n))
		if err != nil || got != n {
			t.Errorf("marker round trip of %d: %d, %v", n, got, err)
		}
	}
	for _, bad := range []string{"", "bogus", encodeMarker(1)[1:], "YXVyb3JhdGVzdC1wYWdlOi0x"} {
		if _, err := decodeMarker(bad); err == nil {
			t.Errorf("decodeMarker(%q) accepted", bad)
		}
	}
	for m, want := range map[string]int{"0": 0, "0:17": 17} {
		if got, err := parseLogMarker(m); err != nil || got != want {
			t.Errorf("parseLogMarker(%q) = %d, %v", m, got, err)
		}
	}
	for _, bad := range []string{"", "1", "0:-1", "0:x"} {
		if _, err := parseLogMarker(bad); err == nil {
			t.Errorf("parseLogMarker(%q) accepted", bad)
		}
	}
}

func TestParamValidate(t *testing.T) {
	intP := &paramSpec{name: "max_connections", kind: kindInt, min: 1, max: 262143, allowed: "1-262143"}
	realP := &paramSpec{name: "random_page_cost", kind: kindReal, min: 0, max: math.MaxFloat64, allowed: "0-1.79769e+308"}
	boolP := &paramSpec{name: "log_connections", kind: kindBool, allowed: "0,1"}
	enumP := &paramSpec{name: "log_statement", kind: kindEnum, choices: []string{"none", "ddl", "mod", "all"}, allowed: "none,ddl,mod,all"}
	listP := &paramSpec{name: "shared_preload_libraries", kind: kindList, choices: []string{"pg_stat_statements", "pgaudit"}}
	strP := &paramSpec{name: "search_path", kind: kindString}
	tests := []struct {
		p       *paramSpec
		in, out string
		ok      bool
	}{
		{intP, "150", "150", true}, {intP, "0", "", false}, {intP, "8MB", "", false}, {intP, " 5 ", "5", true},
		{realP, "1.5", "1.5", true}, {realP, "-1", "", false}, {realP, "NaN", "", false},
		{boolP, "1", "1", true}, {boolP, "0", "0", true}, {boolP, "on", "", false},
		{enumP, "DDL", "ddl", true}, {enumP, "every", "", false},
		{listP, "PGAUDIT, pg_stat_statements", "pgaudit,pg_stat_statements", true}, {listP, "pgaudit,,x", "", false}, {listP, "plv8", "", false},
		{strP, `"$user", public`, `"$user", public`, true}, {strP, "", "", false}, {strP, "a\nb", "", false},
	}
	for _, tc := range tests {
		got, err := tc.p.validate(tc.in)
		if (err == nil) != tc.ok || got != tc.out {
			t.Errorf("%s.validate(%q) = %q, %v; want %q ok=%v", tc.p.name, tc.in, got, err, tc.out, tc.ok)
		}
		if err != nil {
			if ae, ok := err.(*apiError); !ok || ae.code != "InvalidParameterValue" || !strings.Contains(ae.message, tc.p.name) {
				t.Errorf("%s.validate(%q) error %v does not name the parameter with InvalidParameterValue", tc.p.name, tc.in, err)
			}
		}
	}
}
