{{- define "aoi.name" -}}api-operator-istio{{- end -}}
{{- define "aoi.fullname" -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}-api-operator-istio{{- end -}}
{{- define "aoi.labels" -}}
app.kubernetes.io/name: {{ include "aoi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "aoi.selector" -}}
app.kubernetes.io/name: {{ include "aoi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "aoi.webhookService" -}}{{ include "aoi.fullname" . }}-webhook{{- end -}}
{{- define "aoi.certSecret" -}}{{ include "aoi.fullname" . }}-webhook-tls{{- end -}}
{{- define "aoi.metricsReader" -}}{{ include "aoi.fullname" . }}-metrics-reader{{- end -}}
{{- define "aoi.caSecret" -}}{{ include "aoi.fullname" . }}-ca{{- end -}}
{{/* The Gateway the VirtualServices attach to: the value, else the chart's own Gateway. */}}
{{- define "aoi.componentGateway" -}}
{{- .Values.componentGateway | default (printf "%s/%s" .Release.Namespace .Values.gateway.name) -}}
{{- end -}}
{{/* "true" in HTTPRoute mode (routeAPI). */}}
{{- define "aoi.httpRoutes" -}}{{ eq (.Values.routeAPI | default "VirtualService") "HTTPRoute" }}{{- end -}}
{{/* "true" when some watchNamespaces entry is a pattern: it needs cluster-wide watches. */}}
{{- define "aoi.namespacePatterns" -}}
{{- range .Values.watchNamespaces }}{{ if regexMatch "[*?\\[!\\\\]" . }}true{{ end }}{{ end -}}
{{- end -}}
{{- define "aoi.webhookCA" -}}{{ include "aoi.fullname" . }}-webhook-ca{{- end -}}
{{- /* The bundle comes from the chart's CA Certificate, which serving renewals leave alone;
with the user's issuer, from the serving Certificate (its Secret's ca.crt). */}}
{{- define "aoi.injectCA" -}}
{{- if .Values.certManager.enabled }}
annotations:
  {{- if .Values.certManager.issuerRef.name }}
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "aoi.fullname" . }}-webhook
  {{- else }}
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "aoi.webhookCA" . }}
  {{- end }}
{{- end }}
{{- end -}}
{{/* Rules the controllers need wherever they watch ExposedAPIs (kept in step with config/rbac/role.yaml by a test). */}}
{{- define "aoi.namespacedRules" -}}
- apiGroups: ["oda.tmforum.org"]
  resources: ["exposedapis"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["oda.tmforum.org"]
  resources: ["exposedapis/status"]
  verbs: ["patch"]
- apiGroups: ["oda.tmforum.org"]
  resources: ["exposedapis/finalizers"]
  verbs: ["update"]
- apiGroups: ["oda.tmforum.org"]
  resources: ["components"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["oda.tmforum.org"]
  resources: ["components/status"]
  verbs: ["patch"]
{{- if eq (include "aoi.httpRoutes" .) "true" }}
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices"]
{{- if .Values.internalSegments }}
  # The mesh VirtualServices of the internal segments' APIs, in either mode.
  verbs: ["get", "list", "watch", "create", "update", "delete"]
{{- else }}
  # VirtualServices of a former VirtualService mode are removed.
  verbs: ["list", "watch", "delete"]
{{- end }}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
{{- if not (contains "/" (include "aoi.componentGateway" .)) }}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways"]
  verbs: ["list", "watch"]
{{- end }}
{{- else }}
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
# HTTPRoutes of a former HTTPRoute mode are removed.
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["list", "watch", "delete"]
{{- end }}
- apiGroups: ["networking.istio.io"]
  resources: ["destinationrules"]
  verbs: ["list", "watch", "create", "update", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["list", "watch", "create", "update", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* Token checks and rate limits on the ingress gateway, only when they are configured. */}}
{{- define "aoi.gatewayPolicyRules" -}}
{{- if or .Values.apiKeyVerification.jwtIssuer .Values.apiKeyVerification.authzProvider }}
- apiGroups: ["security.istio.io"]
  resources: ["requestauthentications", "authorizationpolicies"]
  verbs: ["get", "create", "update", "delete"]
{{- end }}
{{- if and (eq .Values.rateLimitMode "local") (ne (include "aoi.httpRoutes" .) "true") }}
{{- /* A local rate limit patches the VirtualService's named route: none in HTTPRoute mode. */}}
- apiGroups: ["networking.istio.io"]
  resources: ["envoyfilters"]
  verbs: ["get", "create", "update", "delete"]
{{- end }}
{{- end -}}
