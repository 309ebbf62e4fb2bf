package component

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"
)

func TestGatherWritesAfterQuietOrMaxWait(t *testing.T) {
	clock := time.Unix(1000, 0)
	g := newGather(time.Second, 10*time.Second)
	g.now = func() time.Time { return clock }
	key := types.NamespacedName{Namespace: "ns", Name: "shop"}
	at := func(d time.Duration) { clock = time.Unix(1000, 0).Add(d) }

	assert.Zero(t, g.wait(key), "nothing changed: due at once")

	g.changed(key)
	assert.Equal(t, time.Second, g.wait(key), "waits for a quiet second")
	at(600 * time.Millisecond)
	g.changed(key)
	assert.Equal(t, time.Second, g.wait(key), "a new change restarts the quiet time")
	at(1600 * time.Millisecond)
	assert.Zero(t, g.wait(key), "quiet for a second: due")
	assert.Zero(t, g.wait(key), "written: nothing pending")

	// Changes every half second: the write is due maxWait after the first one.
	start := 2 * time.Second
	for d := start; d < start+10*time.Second; d += 500 * time.Millisecond {
		at(d)
		g.changed(key)
		assert.NotZero(t, g.wait(key), "still changing at %s", d)
	}
	at(start + 10*time.Second)
	g.changed(key)
	assert.Zero(t, g.wait(key), "due at maxWait although still changing")

	g.changed(key)
	g.forget(key)
	assert.Zero(t, g.wait(key), "forgotten")
}
