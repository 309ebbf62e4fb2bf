package certs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestTrustBundleKeepsTheFormerCA: after a rotation the bundle holds the new CA and the
// former one, for formerCAGrace; expired CAs, other CAs and anything unparsable go.
func TestTrustBundleKeepsTheFormerCA(t *testing.T) {
	now := time.Now()
	former := newTestCA(t, selfManagedCAName, now.Add(-200*24*time.Hour), now.Add(100*24*time.Hour)).cert
	current := newTestCA(t, selfManagedCAName, now.Add(-time.Minute), now.Add(365*24*time.Hour)).cert
	expired := newTestCA(t, selfManagedCAName, now.Add(-400*24*time.Hour), now.Add(-time.Hour)).cert
	foreign := newTestCA(t, "someone-else", now.Add(-time.Minute), now.Add(time.Hour)).cert
	found := join(encode(former), encode(expired), encode(foreign), []byte("not a certificate\n"), encode(current))

	got := trustBundle(current, found, now)
	assert.Equal(t, join(encode(current), encode(former)), got, "current first, then the former CA")
	assert.Equal(t, got, trustBundle(current, got, now), "a second pass changes nothing")
	assert.Equal(t, encode(current), trustBundle(current, found, now.Add(formerCAGrace+2*time.Minute)),
		"the former CA goes once its successor has existed for the grace")
	assert.Equal(t, encode(current), trustBundle(current, nil, now), "an empty bundle gets the CA alone")

	// A replica still on the former CA keeps the new one it finds.
	assert.True(t, sameCerts(got, trustBundle(former, got, now)), "replicas on either CA agree")
}

func TestSameCerts(t *testing.T) {
	now := time.Now()
	a := encode(newTestCA(t, selfManagedCAName, now, now.Add(time.Hour)).cert)
	b := encode(newTestCA(t, selfManagedCAName, now, now.Add(time.Hour)).cert)
	assert.True(t, sameCerts(join(a, b), join(b, a)), "order does not matter")
	assert.False(t, sameCerts(a, join(a, b)))
	assert.False(t, sameCerts(join(a, a), join(a, b)), "a certificate twice is not another one")
	assert.False(t, sameCerts(join(a, []byte("junk")), a), "trailing junk is rewritten")
	assert.False(t, sameCerts(nil, nil), "an empty bundle always gets one")
}

func join(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
