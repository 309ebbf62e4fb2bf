package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux).
const userHZ = 100

// cpuTimes are the CPU seconds (user and system) that the processes of a run used: the
// control plane's, the operator's and the bench's own (the floor's client and the watcher).
type cpuTimes struct {
	apiserver, etcd, operator, bench float64
	// machine is every process's, from /proc/stat: what is not the run's is other load.
	machine float64
}

// readCPU reads the CPU seconds used so far by this process and its children, by name.
func readCPU() cpuTimes {
	var t cpuTimes
	t.bench = cpuOf("/proc/self/stat", nil)
	t.machine = machineCPU()
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := os.Getpid()
	for _, p := range paths {
		var comm string
		secs := cpuOf(p, func(c string, ppid int) bool { comm = c; return ppid == self })
		switch {
		case comm == "kube-apiserver":
			t.apiserver += secs
		case comm == "etcd":
			t.etcd += secs
		case strings.HasPrefix(comm, "api-operator"): // comm is cut at 15 characters
			t.operator += secs
		}
	}
	return t
}

// cpuOf is utime+stime of the process whose stat file is path, in seconds; 0 when keep
// (given its name and parent) says no, or the process is gone.
func cpuOf(path string, keep func(comm string, ppid int) bool) float64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(raw)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0
	}
	// After "pid (comm) ": state ppid ... utime is the 12th field, stime the 13th.
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	if keep != nil && !keep(s[open+1:end], ppid) {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / userHZ
}

func (t cpuTimes) since(before cpuTimes) cpuTimes {
	return cpuTimes{apiserver: t.apiserver - before.apiserver, etcd: t.etcd - before.etcd,
		operator: t.operator - before.operator, bench: t.bench - before.bench, machine: t.machine - before.machine}
}

// machineCPU is the CPU seconds every process of the machine used since boot: /proc/stat's
// first line, "cpu user nice system idle iowait irq softirq steal ...", less idle and iowait.
func machineCPU() float64 {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return busyTicks(line) / userHZ
}

func busyTicks(cpuLine string) float64 {
	f := strings.Fields(cpuLine)
	total := 0.0
	for i, v := range f {
		if i == 0 || i == 4 || i == 5 { // the name, idle, iowait
			continue
		}
		if i > 8 { // guest time is counted in user already
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		total += n
	}
	return total
}

func (t cpuTimes) total() float64 { return t.apiserver + t.etcd + t.operator + t.bench }

func (t cpuTimes) String() string {
	return fmt.Sprintf("%.0f s (API server %.0f, etcd %.0f, operator %.0f, bench client %.0f; other processes %.0f)",
		t.total(), t.apiserver, t.etcd, t.operator, t.bench, max(0, t.machine-t.total()))
}

// quietCores is how much of the machine may be busy for it to count as quiet.
const quietCores = 0.2

// waitQuiet waits, at most limit, until the machine used under quietCores over half a
// second, and returns how long it waited: the load of what ran before (the API server
// catching up after a convergence run, its GC) then no longer takes the CPU from figures
// that are of an otherwise idle plane.
func waitQuiet(limit time.Duration, busy func() float64) time.Duration {
	const window = 500 * time.Millisecond
	start := time.Now()
	for time.Since(start)+window <= limit {
		before := busy()
		time.Sleep(window)
		if busy()-before < quietCores*window.Seconds() {
			break
		}
	}
	return time.Since(start)
}
