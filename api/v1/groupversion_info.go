// Package v1 holds the Go types of the oda.tmforum.org/v1 resources this operator reads and
// writes: ExposedAPI, which it owns the status of, and the slice of Component it patches.
// +kubebuilder:object:generate=true
// +groupName=oda.tmforum.org
package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the ODA Canvas resources.
	GroupVersion = schema.GroupVersion{Group: "oda.tmforum.org", Version: "v1"}

	// SchemeBuilder registers the types of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ExposedAPI{}, &ExposedAPIList{}, &Component{}, &ComponentList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
