// Package metacreate creates objects and reads back only the metadata the API server set.
// controller-runtime's client decodes the whole stored object into the one sent: for an
// Istio VirtualService that is a protobuf message read through jsonpb, a tenth of the
// operator's CPU while it converges, to learn what the caller already has, the spec it
// sent. Asking for the response as PartialObjectMetadata leaves only the metadata to read.
package metacreate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// asMetadata asks the API server to answer with the object's metadata only. Plain JSON
// is the fallback its errors need: a Status is no PartialObjectMetadata, and offered only
// that, the API server cuts the error's body short, message and reason with it.
const asMetadata = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"

// Creator creates objects of the kinds of its scheme.
type Creator struct {
	config *rest.Config
	http   *http.Client
	scheme *runtime.Scheme
	mapper meta.RESTMapper
	codecs serializer.CodecFactory

	mu      sync.Mutex
	clients map[schema.GroupVersionKind]rest.Interface
}

// New returns a Creator sending through httpClient with config (its rate limiter among it).
func New(config *rest.Config, httpClient *http.Client, scheme *runtime.Scheme, mapper meta.RESTMapper) *Creator {
	return &Creator{config: config, http: httpClient, scheme: scheme, mapper: mapper,
		codecs: serializer.NewCodecFactory(scheme), clients: map[schema.GroupVersionKind]rest.Interface{}}
}

// Create creates obj. The metadata the API server sets (uid, resource version, generation,
// creation time, managed fields) is copied into obj; the rest of obj stays as sent. Errors
// are the API server's, as controller-runtime's client returns them.
func (c *Creator) Create(ctx context.Context, obj client.Object) error {
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err != nil {
		return err
	}
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	rc, err := c.client(gvk)
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encoding %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	res := rc.Post().
		NamespaceIfScoped(obj.GetNamespace(), mapping.Scope.Name() == meta.RESTScopeNameNamespace).
		Resource(mapping.Resource.Resource).
		SetHeader("Accept", asMetadata).
		Body(body).
		Do(ctx)
	// Error, unlike Raw, decodes the API server's Status: its message and reason, not one
	// made up from the HTTP code.
	if err := res.Error(); err != nil {
		return err
	}
	raw, err := res.Raw()
	if err != nil {
		return err
	}
	stored := &metav1.PartialObjectMetadata{}
	if err := json.Unmarshal(raw, stored); err != nil {
		return fmt.Errorf("reading the created %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	obj.SetUID(stored.UID)
	obj.SetResourceVersion(stored.ResourceVersion)
	obj.SetGeneration(stored.Generation)
	obj.SetCreationTimestamp(stored.CreationTimestamp)
	obj.SetManagedFields(stored.ManagedFields)
	return nil
}

func (c *Creator) client(gvk schema.GroupVersionKind) (rest.Interface, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc, ok := c.clients[gvk]; ok {
		return rc, nil
	}
	rc, err := apiutil.RESTClientForGVK(gvk, false, false, c.config, c.codecs, c.http)
	if err != nil {
		return nil, err
	}
	c.clients[gvk] = rc
	return rc, nil
}
