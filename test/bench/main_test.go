package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInts(t *testing.T) {
	got, err := parseInts("QPS", "0, 200,50", 0)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 200, 50}, got)
	got, err = parseInts("QPS", "", 0)
	require.NoError(t, err)
	assert.Empty(t, got)
	for _, bad := range []string{"fast", "-5", "100,"} {
		_, err := parseInts("QPS", bad, 0)
		assert.ErrorContains(t, err, "bad QPS", bad)
	}
	_, err = parseInts("size", "500,0", 1)
	assert.ErrorContains(t, err, `bad size "0": want a number >= 1`)
}

func TestParseLists(t *testing.T) {
	var c config
	assert.ErrorContains(t, c.parseLists(" ", "1000", "", false), "no sizes")
	require.NoError(t, c.parseLists("500,1000", "", "25", false))
	assert.Equal(t, []int{500, 1000}, c.sizes)
	assert.Empty(t, c.h2hSizes)
	assert.Equal(t, []int{25}, c.sweep)
	require.NoError(t, c.parseLists("500,1000", "1000,5000", "", false), "the default's 5000 is skipped where it is not a size")
	assert.ErrorContains(t, c.parseLists("500,1000", "1000,5000", "", true), "head-to-head size 5000 is not one of the sizes [500 1000]")
}

func TestHeadToHeadRoundsAt(t *testing.T) {
	c := config{h2hSizes: []int{1000, 5000}, h2hRounds: 2, fairnessN: 5000}
	assert.Equal(t, 0, c.h2hRoundsAt(500))
	assert.Equal(t, 2, c.h2hRoundsAt(1000))
	assert.Equal(t, 1, c.h2hRoundsAt(5000), "one round at the fairness size")
	c.h2hRounds = 0
	assert.Equal(t, 0, c.h2hRoundsAt(5000))
}
