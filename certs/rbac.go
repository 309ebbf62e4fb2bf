package certs

// What the self-managed mode needs; mounted certificates need nothing.
//
// The CA Secret: cert-manager's DynamicAuthority lists and watches it (an informer limited
// to its name), creates it when absent and updates it when the CA nears expiry; the CA
// bundle injector gets it to read ca.crt. The webhook configurations are read by name and
// only their caBundle entries patched.
// Markers are cluster-wide here: the Secret's namespace is a flag, so the Helm chart narrows
// the Secret grant to its release namespace and the configurations to their names.

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations;validatingwebhookconfigurations,verbs=get;patch
