package auroratest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testLog writes a server log of n messages spread over three hours, some
// with continuation lines, and returns it.
func testLog(n int) string {
	var b strings.Builder
	start := time.Date(2024, 5, 6, 10, 50, 0, 0, time.UTC)
	for i := range n {
		at := start.Add(time.Duration(i) * 30 * time.Minute / time.Duration(n) * 4)
		fmt.Fprintf(&b, "%s:127.0.0.1(5432):app@db:[%d]:LOG:  AUDIT: SESSION,%d,1,READ,SELECT,,,\"SELECT %d", at.Format("2006-01-02 15:04:05 UTC"), 100+i%7, i, i)
		if i%5 == 0 {
			b.WriteString("\n\t  FROM t\n\t WHERE x = 'naïve'")
		}
		b.WriteString("\",<not logged>\n")
	}
	return b.String()
}

// TestLogIndexGrows writes a log in pieces of random sizes (lines cut
// anywhere) and indexes it after each: the files are those of the whole
// log, and no file ever ends inside a line.
func TestLogIndexGrows(t *testing.T) {
	log := testLog(400)
	path := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix := &logIndex{names: map[string]bool{}}
	rng := rand.New(rand.NewPCG(1, 2))
	for at := 0; at < len(log); {
		n := min(len(log)-at, 1+rng.IntN(900))
		if _, err := f.WriteString(log[at : at+n]); err != nil {
			t.Fatal(err)
		}
		at += n
		files, err := ix.update(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range files {
			if fl.end > 0 && log[fl.end-1] != '\n' {
				t.Fatalf("after %d bytes: file %s ends inside a line at %d", at, fl.name, fl.end)
			}
		}
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.update(path)
	if err != nil {
		t.Fatal(err)
	}
	want := splitLog([]byte(log), fi.ModTime())
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(logFile{})); diff != "" {
		t.Fatalf("indexed in pieces (-whole +pieces):\n%s", diff)
	}
	if len(got) != 3 || got[0].name != logFilePrefix+"2024-05-06-10" || got[2].name != logFilePrefix+"2024-05-06-12" {
		t.Fatalf("files %v, want the hours 10, 11 and 12", got)
	}
}

// TestLogIndexRotates checks where rotations cut: at the next line that
// starts a message, never before a continuation line; two rotations with
// nothing between them leave an empty file; hours go on after them; a
// stamp of an earlier hour does not go back to an hourly file.
func TestLogIndexRotates(t *testing.T) {
	line := func(hms, text string) string { return "2024-05-06 " + hms + " UTC::@:[1]:LOG:  " + text + "\n" }
	when := time.Date(2024, 5, 6, 10, 20, 0, 0, time.UTC)
	ix := &logIndex{names: map[string]bool{}}
	var log string
	add := func(s string) {
		ix.feed([]byte(s), len(log), when, false)
		log += s
	}
	rotate := func(name string) {
		ix.pending = append(ix.pending, rotation{at: len(log), name: name, when: when})
		ix.names[name] = true
	}
	add(line("10:10:00", "a") + line("10:15:00", "b \"multi"))
	rotate("r1")                 // lands before a continuation line
	add("\tline\"\n")            // stays with b
	add(line("10:16:00", "c"))   // starts r1
	rotate("r2")                 // an empty file
	rotate("r3")                 // starts with d
	add(line("10:17:00", "d"))   // in r3
	add(line("09:59:00", "old")) // an earlier hour: stays in r3
	add(line("11:00:01", "e"))   // the next hour
	var got []string
	for _, f := range ix.snapshot(when) {
		got = append(got, f.name+"="+strings.ReplaceAll(log[f.start:f.end], "2024-05-06 ", ""))
	}
	want := []string{
		logFilePrefix + "2024-05-06-10=" + line("10:10:00", "a")[11:] + line("10:15:00", "b \"multi")[11:] + "\tline\"\n",
		"r1=" + line("10:16:00", "c")[11:],
		"r2=",
		"r3=" + line("10:17:00", "d")[11:] + line("09:59:00", "old")[11:],
		logFilePrefix + "2024-05-06-11=" + line("11:00:01", "e")[11:],
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
}

// TestLogStamp compares the timestamp reader with time.Parse.
func TestLogStamp(t *testing.T) {
	for _, s := range []string{"2024-05-06 10:00:01 UTC:x", "1999-12-31 23:59:59 UTC:", "2024-13-06 10:00:01 UTC:", "2024-05-06 10:00:01 GMT:", "2024-05-06 24:00:00 UTC:", "2024-05-06 10:00", "\t2024-05-06 10:00:01 UTC:"} {
		got, ok := logStamp([]byte(s))
		want, err := time.Parse("2006-01-02 15:04:05 UTC:", s[:min(len(s), 24)])
		if ok != (err == nil) || ok && !got.Equal(want) {
			t.Errorf("logStamp(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
		}
	}
}
