package v1

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API types an ExposedAPI can declare.
const (
	APITypeOpenAPI     = "openapi"
	APITypePrometheus  = "prometheus"
	APITypeOpenMetrics = "openmetrics"
	APITypeMCP         = "mcp"
)

// IsMetrics tells whether an apiType, in any case, asks for metrics scraping (R3.2).
func IsMetrics(apiType string) bool {
	t := strings.ToLower(apiType)
	return t == APITypePrometheus || t == APITypeOpenMetrics
}

// Segments of a Component an ExposedAPI belongs to.
const (
	SegmentCore       = "coreFunction"
	SegmentManagement = "managementFunction"
	SegmentSecurity   = "securityFunction"
)

// ComponentNameLabel names the ODA Component an ExposedAPI belongs to.
const ComponentNameLabel = "oda.tmforum.org/componentName"

// ExposedAPISpec is what a Component declares about one API it offers. The field names and
// JSON shapes are those of the ODA Canvas CRD; unknown fields are kept, as that CRD does.
// +kubebuilder:pruning:PreserveUnknownFields
type ExposedAPISpec struct {
	// Name of the API.
	Name string `json:"name"`

	// Specification of the API: one object {url, version}. Older shapes (a string, a list of
	// strings, a list of objects) are accepted here so that the defaulting webhook can turn
	// them into that object; the validating webhook checks the result.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Specification *Specification `json:"specification,omitempty"`

	// APIType is the type of API specification.
	// +kubebuilder:validation:Enum=openapi;prometheus;openmetrics;mcp
	APIType string `json:"apiType"`

	// APIKeyVerification (optional).
	// +optional
	APIKeyVerification *APIKeyVerification `json:"apiKeyVerification,omitempty"`

	// RateLimit is the rate limit configuration for the API (optional).
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// Quota configuration (optional).
	// +optional
	Quota *Quota `json:"quota,omitempty"`

	// OASValidation validates requests or responses against the API's OpenAPI
	// specification (optional).
	// +optional
	OASValidation *OASValidation `json:"OASValidation,omitempty"`

	// CORS is the Cross-origin Resource Sharing configuration (optional).
	// +optional
	CORS *CORS `json:"CORS,omitempty"`

	// Template is the name of a pre-configured template to use for the API (optional).
	// +optional
	Template string `json:"template,omitempty"`

	// Implementation is the name of the Service, in the same namespace, that implements
	// the API.
	Implementation string `json:"implementation"`

	// Path is the root path of the API.
	Path string `json:"path"`

	// DeveloperUI is the path to the developer user interface of the API (optional).
	// +optional
	DeveloperUI string `json:"developerUI,omitempty"`

	// Port is the port of the implementation Service where the API is served.
	Port int32 `json:"port"`

	// Hostname is the public host name of the API (optional; default any host).
	// +optional
	Hostname string `json:"hostname,omitempty"`

	// BasicAuth is copied into the ServiceMonitor endpoint of a metrics API (optional).
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	BasicAuth *apiextensionsv1.JSON `json:"basicAuth,omitempty"`

	// Resources is an optional list of resources that are exposed by the API.
	// +optional
	Resources []apiextensionsv1.JSON `json:"resources,omitempty"`

	// Required tells whether the API is required.
	// +optional
	Required *bool `json:"required,omitempty"`

	// Segment of the component where this API is defined; the operator defaults it to
	// coreFunction.
	// +kubebuilder:validation:Enum=coreFunction;managementFunction;securityFunction
	// +optional
	Segment string `json:"segment,omitempty"`

	// Malformed are the stored fields whose value the type above cannot hold; they read as
	// empty.
	Malformed []MalformedField `json:"-"`
}

// APIKeyVerification configures API key checks.
type APIKeyVerification struct {
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Location is the name of the variable where the API key is expected.
	// +optional
	Location string `json:"location,omitempty"`
}

// RateLimit configures request rate limiting.
type RateLimit struct {
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// +optional
	Identifier string `json:"identifier,omitempty"`
	// +optional
	Limit string `json:"limit,omitempty"`
	// +optional
	Interval string `json:"interval,omitempty"`
}

// Quota configures a request quota.
type Quota struct {
	// +optional
	Identifier string `json:"identifier,omitempty"`
	// +optional
	Limit string `json:"limit,omitempty"`
}

// OASValidation configures validation against the OpenAPI specification.
type OASValidation struct {
	// +optional
	RequestEnabled *bool `json:"requestEnabled,omitempty"`
	// +optional
	ResponseEnabled *bool `json:"responseEnabled,omitempty"`
	// +optional
	AllowUnspecifiedHeaders *bool `json:"allowUnspecifiedHeaders,omitempty"`
	// +optional
	AllowUnspecifiedQueryParams *bool `json:"allowUnspecifiedQueryParams,omitempty"`
	// +optional
	AllowUnspecifiedCookies *bool `json:"allowUnspecifiedCookies,omitempty"`
}

// CORS configures Cross-origin Resource Sharing.
type CORS struct {
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// +optional
	AllowCredentials *bool `json:"allowCredentials,omitempty"`
	// AllowOrigins is a comma-separated list of origins.
	// +optional
	AllowOrigins string `json:"allowOrigins,omitempty"`
	// +optional
	HandlePreflightRequests *PreflightRequests `json:"handlePreflightRequests,omitempty"`
}

// PreflightRequests configures the answer to OPTIONS preflight requests.
type PreflightRequests struct {
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// AllowHeaders is a comma-separated list of HTTP headers.
	// +optional
	AllowHeaders string `json:"allowHeaders,omitempty"`
	// AllowMethods is a comma-separated list of HTTP methods.
	// +optional
	AllowMethods string `json:"allowMethods,omitempty"`
	// MaxAge is in seconds.
	// +optional
	MaxAge *int64 `json:"maxAge,omitempty"`
}

// ExposedAPIStatus is what the operator observed and did for an ExposedAPI.
type ExposedAPIStatus struct {
	// APIStatus describes the route programmed for the API and where it is reachable.
	// +optional
	APIStatus *APIStatus `json:"apiStatus,omitempty"`

	// Implementation tells whether the implementation Service has ready endpoints.
	// +optional
	Implementation *ImplementationStatus `json:"implementation,omitempty"`

	// Conditions of the API: Ready, Accepted, Programmed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// APIStatus is the route of an API, in the shape the ODA Canvas operators read.
type APIStatus struct {
	Name string `json:"name"`
	// UID of the VirtualService.
	// +optional
	UID string `json:"uid,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Port int32 `json:"port,omitempty"`
	// +optional
	Implementation string `json:"implementation,omitempty"`
	// URL where the API is reachable.
	// +optional
	URL string `json:"url,omitempty"`
	// DeveloperUI is the URL of the developer user interface.
	// +optional
	DeveloperUI string `json:"developerUI,omitempty"`
	// IP is the ingress address (an IP or a host name).
	// +optional
	IP string `json:"ip,omitempty"`
}

// ImplementationStatus tells whether the implementation can serve.
type ImplementationStatus struct {
	Ready bool `json:"ready"`
}

// ExposedAPI is an API that an ODA Component exposes through the service mesh.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=exposedapis,singular=exposedapi,scope=Namespaced
// +kubebuilder:printcolumn:name="API_endpoint",type=string,JSONPath=`.status.apiStatus.url`,description="API endpoint Url"
// +kubebuilder:printcolumn:name="Implementation_ready",type=string,JSONPath=`.status.implementation.ready`,description="API implementation is ready - has passed startup probe checks"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Route programmed, URL known and implementation ready"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ExposedAPI struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ExposedAPISpec `json:"spec"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Status ExposedAPIStatus `json:"status,omitempty"`
}

// ExposedAPIList is a list of ExposedAPIs.
// +kubebuilder:object:root=true
type ExposedAPIList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExposedAPI `json:"items"`
}
