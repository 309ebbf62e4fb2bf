// Package slim has what the cache transforms share: the objects the operator caches many of
// (pods, Services, EndpointSlices) are kept as the few fields their readers read.
package slim

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Meta is o's identity and lifecycle, which the cache and its clients need of any object:
// name, namespace, uid, resource version, generation, creation and deletion times. A
// transform adds what its readers read (labels, annotations) itself.
func Meta(o metav1.Object) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: o.GetName(), Namespace: o.GetNamespace(), UID: o.GetUID(), ResourceVersion: o.GetResourceVersion(),
		Generation: o.GetGeneration(), CreationTimestamp: o.GetCreationTimestamp(), DeletionTimestamp: o.GetDeletionTimestamp(),
	}
}
