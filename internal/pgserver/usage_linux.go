package pgserver

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Usage is what a server's processes (the postmaster and its children)
// use of the machine, read from /proc.
type Usage struct {
	// CPUSeconds is the processor time they have used since the
	// postmaster started: its own, its live children's, and that of the
	// children it has waited for (backends that ended).
	CPUSeconds float64
	// MemoryBytes is their resident memory: the postmaster's, plus each
	// child's private (resident, not shared) memory, so that the shared
	// buffers count once.
	MemoryBytes int64
	// Processes is how many processes that is.
	Processes int
}

// Processes is a snapshot of the machine's processes (their parents and
// CPU times), from which the usage of several servers is computed with one
// scan of /proc.
type Processes struct {
	byParent map[int][]int
	stat     map[int]procTimes
}

type procTimes struct {
	own, children float64 // seconds: utime+stime, cutime+cstime
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// ReadProcesses scans /proc.
func ReadProcesses() *Processes {
	p := &Processes{byParent: map[int][]int{}, stat: map[int]procTimes{}}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return p
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// Fields after comm, from state (field 3): ppid is 4, utime 14,
		// stime 15, cutime 16, cstime 17.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		num := func(k int) float64 { v, _ := strconv.ParseFloat(f[k], 64); return v }
		p.byParent[ppid] = append(p.byParent[ppid], pid)
		p.stat[pid] = procTimes{own: (num(11) + num(12)) / clockTicks, children: (num(13) + num(14)) / clockTicks}
	}
	return p
}

// Usage returns the usage of the server whose postmaster is pid; ok is
// false when no such process runs.
func (p *Processes) Usage(pid int) (u Usage, ok bool) {
	pm, ok := p.stat[pid]
	if !ok || pid <= 0 {
		return Usage{}, false
	}
	page := int64(os.Getpagesize())
	u.CPUSeconds = pm.own + pm.children
	u.Processes = 1
	if rss, _, ok := statm(pid); ok {
		u.MemoryBytes += rss * page
	}
	for _, c := range p.byParent[pid] {
		u.CPUSeconds += p.stat[c].own
		u.Processes++
		if rss, shared, ok := statm(c); ok {
			u.MemoryBytes += (rss - shared) * page
		}
	}
	return u, true
}

// statm reads a process's resident and shared pages.
func statm(pid int) (resident, shared int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0, false
	}
	resident, err1 := strconv.ParseInt(f[1], 10, 64)
	shared, err2 := strconv.ParseInt(f[2], 10, 64)
	return resident, shared, err1 == nil && err2 == nil
}

// MemTotal is the machine's memory in bytes (/proc/meminfo), or 0.
func MemTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
