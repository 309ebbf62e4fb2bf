package v1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ComponentSpec is owned by the component operator; this operator never reads or writes it.
// +kubebuilder:pruning:PreserveUnknownFields
type ComponentSpec struct{}

// ComponentStatus is the part of a Component's status this operator keeps up to date: the
// entries of the APIs it exposes. Everything else there belongs to other operators.
// +kubebuilder:pruning:PreserveUnknownFields
type ComponentStatus struct {
	// +optional
	CoreAPIs []ComponentAPIStatus `json:"coreAPIs,omitempty"`
	// +optional
	ManagementAPIs []ComponentAPIStatus `json:"managementAPIs,omitempty"`
	// +optional
	SecurityAPIs []ComponentAPIStatus `json:"securityAPIs,omitempty"`
}

// ComponentAPIStatus is one entry of a Component's API summary.
// +kubebuilder:pruning:PreserveUnknownFields
type ComponentAPIStatus struct {
	// +optional
	Name string `json:"name,omitempty"`
	// UID of the ExposedAPI.
	// +optional
	UID string `json:"uid,omitempty"`
	// +optional
	URL string `json:"url,omitempty"`
	// +optional
	DeveloperUI string `json:"developerUI,omitempty"`
	// +optional
	Ready bool `json:"ready,omitempty"`

	// ReadySet tells whether the stored entry has a ready field at all.
	ReadySet bool `json:"-"`
}

// UnmarshalJSON reads an entry written by any operator without ever failing: a field of an
// unexpected type reads as empty, so one odd Component cannot stop the informer.
func (c *ComponentAPIStatus) UnmarshalJSON(data []byte) error {
	*c = ComponentAPIStatus{}
	var fields map[string]any
	if json.Unmarshal(data, &fields) != nil {
		return nil
	}
	str := func(k string) string { s, _ := fields[k].(string); return s }
	c.Name, c.UID, c.URL, c.DeveloperUI = str("name"), str("uid"), str("url"), str("developerUI")
	switch r := fields["ready"].(type) {
	case bool:
		c.Ready, c.ReadySet = r, true
	case string:
		c.Ready, c.ReadySet = r == "true" || r == "True", true
	}
	return nil
}

// Component is the ODA Component that owns ExposedAPIs. Its CRD belongs to the component
// operator; the one generated from this type is for tests only.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=components,singular=component,scope=Namespaced
type Component struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ComponentSpec `json:"spec,omitempty"`
	// +optional
	Status ComponentStatus `json:"status,omitempty"`
}

// ComponentList is a list of Components.
// +kubebuilder:object:root=true
type ComponentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Component `json:"items"`
}
