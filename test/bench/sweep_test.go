package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQPS(t *testing.T) {
	got, err := parseQPS("0, 200,50")
	require.NoError(t, err)
	assert.Equal(t, []int{0, 200, 50}, got)
	got, err = parseQPS("")
	require.NoError(t, err)
	assert.Empty(t, got)
	for _, bad := range []string{"fast", "-5", "100,"} {
		_, err := parseQPS(bad)
		assert.ErrorContains(t, err, "fairness sweep", bad)
	}
}
