// Package index registers cache field indexes that keep each value under one key only.
//
// controller-runtime's FieldIndexer keeps every value of a namespaced object twice: under
// its namespace, for lookups with client.InNamespace, and under a cluster-wide key, for
// lookups without. Each distinct value is a set of its own in the informer's index, so an
// index of values unique per API (an implementation Service, a route) costs a few hundred
// bytes per API per form. An index registered here keeps the one form its lookups use, and
// its lookups go through the cache client unchanged (client.MatchingFields), since the
// index carries the name and key format controller-runtime's cache reader looks up.
package index

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Scope is how an index is looked up.
type Scope int

const (
	// Namespaced indexes are looked up with client.InNamespace only: a lookup without a
	// namespace finds nothing.
	Namespaced Scope = iota
	// Cluster indexes are looked up without a namespace only: a lookup in a namespace finds
	// nothing.
	Cluster
)

// The index name and the cluster-wide key prefix of controller-runtime's cache reader
// (pkg/cache/internal: FieldIndexName, KeyToNamespacedKey), which are not exported.
const (
	fieldPrefix   = "field:"
	allNamespaces = "__all_namespaces"
)

// Add registers field on obj's informer in c, with the values extract gives, keyed for
// scope's lookups.
func Add(ctx context.Context, c cache.Cache, obj client.Object, field string, scope Scope, extract client.IndexerFunc) error {
	informer, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return err
	}
	return informer.AddIndexers(toolscache.Indexers{fieldPrefix + field: keys(scope, extract)})
}

func keys(scope Scope, extract client.IndexerFunc) toolscache.IndexFunc {
	return func(raw any) ([]string, error) {
		obj, ok := raw.(client.Object)
		if !ok {
			return nil, fmt.Errorf("object of type %T is not an Object", raw)
		}
		values := extract(obj)
		if len(values) == 0 {
			return nil, nil
		}
		prefix := obj.GetNamespace()
		if scope == Cluster || prefix == "" {
			prefix = allNamespaces
		}
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = prefix + "/" + v
		}
		return out, nil
	}
}
