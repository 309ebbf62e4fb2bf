package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCPUOf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stat")
	// pid (comm with spaces) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
	stat := "4242 (kube api) server) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 12 0\n"
	assert.NoError(t, os.WriteFile(path, []byte(stat), 0o644))

	var comm string
	var ppid int
	got := cpuOf(path, func(c string, p int) bool { comm, ppid = c, p; return true })
	assert.InDelta(t, 3.8, got, 1e-9, "(250+130) ticks of 1/100 s")
	assert.Equal(t, "kube api) server", comm, "the name ends at the last parenthesis")
	assert.Equal(t, 17, ppid)
	assert.Zero(t, cpuOf(path, func(string, int) bool { return false }), "not kept")
	assert.Zero(t, cpuOf(filepath.Join(t.TempDir(), "gone"), nil), "process gone")
}

func TestBusyTicks(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	assert.InDelta(t, 10+1+5+2+3+4, busyTicks("cpu  10 1 5 900 7 2 3 4 99 99"), 1e-9, "idle, iowait and guest left out")
}

func TestWaitQuiet(t *testing.T) {
	var ticks float64
	busy := func() float64 { ticks++; return ticks } // a core busy for every look: never quiet
	waited := waitQuiet(1100*time.Millisecond, busy)
	assert.GreaterOrEqual(t, waited, time.Second, "a busy machine is looked at again (two half-second looks fit the limit)")
	assert.LessOrEqual(t, waited, 1100*time.Millisecond, "but no longer than the limit")
	idle := func() float64 { return 42 }
	assert.Less(t, waitQuiet(time.Minute, idle), time.Second, "an idle machine after one look")
}
