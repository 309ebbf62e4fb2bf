package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"time"
)

// formerCAGrace is how long a former CA of ours stays in the bundles once its successor
// exists: long enough for every replica to see the new CA and serve a leaf it signed, short
// enough that a CA whose Secret was deleted on purpose (a leaked key) is soon trusted no
// more.
const formerCAGrace = time.Hour

// trustBundle is the bundle a webhook entry should carry: the current CA, then the CAs of
// ours found in the entry that are neither expired nor past formerCAGrace after a newer one.
// The bundle is appended to, not replaced, because a replica whose Secret informer is behind
// still serves a leaf of the former CA.
func trustBundle(current *x509.Certificate, found []byte, now time.Time) []byte {
	kept := []*x509.Certificate{current}
	for _, c := range parseCerts(found) {
		if c.IsCA && c.Subject.CommonName == current.Subject.CommonName && now.Before(c.NotAfter) &&
			!slices.ContainsFunc(kept, c.Equal) {
			kept = append(kept, c)
		}
	}
	out := encode(current)
	for _, c := range kept[1:] {
		if !superseded(c, kept, now) {
			out = append(out, encode(c)...)
		}
	}
	return out
}

// superseded tells whether a newer CA among all has existed for formerCAGrace.
func superseded(c *x509.Certificate, all []*x509.Certificate, now time.Time) bool {
	return slices.ContainsFunc(all, func(n *x509.Certificate) bool {
		return n.NotBefore.After(c.NotBefore) && now.After(n.NotBefore.Add(formerCAGrace))
	})
}

// sameCerts tells whether two bundles hold the same certificates, in any order: replicas
// that see the CA rotate at different moments put it first at different moments, and must
// not undo each other's writes. A bundle holding anything but certificates is never the same,
// nor one holding a certificate twice in place of another.
func sameCerts(a, b []byte) bool {
	da, db := certBlocks(a), certBlocks(b)
	if da == nil || db == nil {
		return false
	}
	slices.SortFunc(da, bytes.Compare)
	slices.SortFunc(db, bytes.Compare)
	return slices.EqualFunc(da, db, bytes.Equal)
}

// certBlocks returns the DER blocks of a bundle of PEM certificates, or nil when it is empty
// or holds anything else.
func certBlocks(bundle []byte) [][]byte {
	var out [][]byte
	block, rest := pem.Decode(bundle)
	for ; block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			return nil
		}
		out = append(out, block.Bytes)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil
	}
	return out
}

// parseCerts returns the certificates of a PEM bundle, skipping what does not parse.
func parseCerts(bundle []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for block, rest := pem.Decode(bundle); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func encode(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// parseCA reads the CA certificate of the authority's Secret.
func parseCA(data []byte) (*x509.Certificate, error) {
	certs := parseCerts(data)
	if len(certs) != 1 || !certs[0].IsCA {
		return nil, errors.New("ca.crt is not one PEM CA certificate")
	}
	return certs[0], nil
}
