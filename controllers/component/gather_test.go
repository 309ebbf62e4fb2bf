package component

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"
)

// testGather is a gather on a clock the test moves with at.
func testGather() (g *gather, at func(time.Duration)) {
	clock := time.Unix(1000, 0)
	g = newGather(time.Second, 10*time.Second, 3*time.Second, 4*time.Millisecond)
	g.now = func() time.Time { return clock }
	return g, func(d time.Duration) { clock = time.Unix(1000, 0).Add(d) }
}

var (
	shop = types.NamespacedName{Namespace: "ns", Name: "shop"}
	api1 = types.NamespacedName{Namespace: "ns", Name: "api-1"}
	api2 = types.NamespacedName{Namespace: "ns", Name: "api-2"}
)

func TestGatherWritesAfterQuietOrMaxWaitWhileUnsettled(t *testing.T) {
	g, at := testGather()
	assert.Zero(t, g.wait(shop, 1), "nothing changed: due at once")
	g.settle(shop, api1, false)

	g.changed(shop)
	assert.Equal(t, time.Second, g.wait(shop, 1), "waits for a quiet second")
	at(600 * time.Millisecond)
	g.changed(shop)
	assert.Equal(t, time.Second, g.wait(shop, 1), "a new change restarts the quiet time")
	at(1600 * time.Millisecond)
	assert.Zero(t, g.wait(shop, 1), "quiet for a second: due")
	assert.Zero(t, g.wait(shop, 1), "written: nothing pending")

	// Changes every half second: the write is due maxWait after the first one.
	start := 2 * time.Second
	for d := start; d < start+10*time.Second; d += 500 * time.Millisecond {
		at(d)
		g.changed(shop)
		assert.NotZero(t, g.wait(shop, 1), "still changing at %s", d)
	}
	at(start + 10*time.Second)
	g.changed(shop)
	assert.Zero(t, g.wait(shop, 1), "due at maxWait although still changing")

	g.changed(shop)
	g.forget(shop)
	d, pending := g.due(shop)
	assert.False(t, pending, "forgotten")
	assert.Zero(t, d)
}

func TestGatherWritesAtOnceWhenSettled(t *testing.T) {
	g, at := testGather()
	g.settle(shop, api1, false)
	g.settle(shop, api2, false)
	g.changed(shop)
	d, pending := g.due(shop)
	assert.True(t, pending)
	assert.Equal(t, time.Second, d, "two APIs unsettled: the quiet time")

	at(100 * time.Millisecond)
	g.settle(shop, api1, true)
	g.changed(shop)
	assert.Equal(t, time.Second, g.wait(shop, 1), "one API still unsettled")
	g.settle(shop, api2, true)
	d, _ = g.due(shop)
	assert.Zero(t, d, "the last API settled: due at once (the first write)")
	assert.Zero(t, g.wait(shop, 1))

	// Changes every half second, closer than the quiet time: minInterval after the last write.
	for d := 500 * time.Millisecond; d < 3100*time.Millisecond; d += 500 * time.Millisecond {
		at(d)
		g.changed(shop)
		assert.Equal(t, min(time.Second, 3100*time.Millisecond-d), g.wait(shop, 1), "at %s", d)
	}
	at(3100 * time.Millisecond)
	assert.Zero(t, g.wait(shop, 1), "minInterval after the last write, although still changing")
	at(3200 * time.Millisecond)
	g.changed(shop)
	assert.Equal(t, time.Second, g.wait(shop, 1), "the quiet time, when it ends first")

	at(20 * time.Second)
	g.changed(shop)
	assert.Zero(t, g.wait(shop, 1), "a single change long after the last write: at once")

	g.settle(shop, api1, false)
	g.settle(shop, api1, true)
	_, pending = g.due(shop)
	assert.False(t, pending, "settling alone writes nothing")
	assert.Empty(t, g.unsettled, "no Component keeps an empty set")
}

func TestGatherSpacesALargeComponentsWritesWhileUnsettled(t *testing.T) {
	g, at := testGather()
	g.settle(shop, api1, false)
	g.changed(shop)
	at(time.Second)
	assert.Zero(t, g.wait(shop, 2500), "the first write: nothing written before")

	// A pause of the converging APIs longer than the quiet time, 2.5 s after the last write.
	at(2 * time.Second)
	g.changed(shop)
	at(3500 * time.Millisecond)
	assert.Equal(t, 1500*time.Millisecond, g.wait(shop, 1000), "1000 entries: 4 s after the last write")
	assert.Equal(t, 7500*time.Millisecond, g.wait(shop, 5000), "5000 entries: maxWait after the last write, no more")
	d, pending := g.due(shop)
	assert.True(t, pending)
	assert.Equal(t, 7500*time.Millisecond, d, "the queue's delay counts the entries of the last wait")
	assert.Zero(t, g.wait(shop, 100), "100 entries: 0.4 s apart, the quiet time decides")

	g.changed(shop)
	g.settle(shop, api1, true)
	at(4500 * time.Millisecond)
	assert.Zero(t, g.wait(shop, 5000), "settled: minInterval after the last write, whatever the entries")
}
