package chaos

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLostInFlight(t *testing.T) {
	call := `Internal error occurred: failed calling webhook "vexposedapi.oda.tmforum.org": failed to call webhook: Post "https://localhost:45493/validate-oda-tmforum-org-v1-exposedapi?timeout=10s": `
	for _, lost := range []string{
		"EOF",
		"read tcp 127.0.0.1:52132->127.0.0.1:45493: read: connection reset by peer",
		"write tcp 127.0.0.1:52132->127.0.0.1:45493: write: broken pipe",
		"use of closed network connection",
		"dial tcp 127.0.0.1:45493: connect: connection reset by peer",
	} {
		assert.True(t, lostInFlight(errors.New(call+lost)), lost)
	}
	for _, refused := range []string{
		call + "context deadline exceeded",
		`admission webhook "vexposedapi.oda.tmforum.org" denied the request: spec.path: Invalid value`,
		call + "dial tcp 127.0.0.1:45493: connect: connection refused",
	} {
		assert.False(t, lostInFlight(errors.New(refused)), refused)
	}
}
