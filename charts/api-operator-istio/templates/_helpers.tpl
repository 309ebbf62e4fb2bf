{{- define "aoi.name" -}}api-operator-istio{{- end -}}
{{- /* At most 55 characters: <fullname>-webhook, a Service, must be a DNS label (63). Release
names up to 36 characters are used whole. */}}
{{- define "aoi.fullname" -}}{{ .Release.Name | trunc 36 | trimSuffix "-" }}-api-operator-istio{{- end -}}
{{- define "aoi.labels" -}}
app.kubernetes.io/name: {{ include "aoi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{/* The operator's Deployment's name, and the app label its pods carry and it selects them
by alone: as the canvas's Python chart has them (its deployment.operatorName), so that an
upgrade from that chart patches its Deployment in place (a selector cannot change) and the
canvas's tooling (kubectl logs deployment/api-operator-istio, its BDD kit's
app=api-operator-istio) finds ours. Not the release's: two releases in one namespace set
different ones. */}}
{{- define "aoi.deploymentName" -}}{{ (.Values.deployment).operatorName | default "api-operator-istio" }}{{- end -}}
{{- define "aoi.selector" -}}
app.kubernetes.io/name: {{ include "aoi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "aoi.webhookService" -}}{{ include "aoi.fullname" . }}-webhook{{- end -}}
{{- define "aoi.certSecret" -}}{{ include "aoi.fullname" . }}-webhook-tls{{- end -}}
{{- define "aoi.metricsReader" -}}{{ include "aoi.fullname" . }}-metrics-reader{{- end -}}
{{- define "aoi.caSecret" -}}{{ include "aoi.fullname" . }}-ca{{- end -}}
{{/* The settings that the canvas's own api-operator-istio chart also has, as JSON, each
a string (watchNamespaces comma-separated). The canvas's umbrella chart passes its keys to
whichever chart is its api-operator-istio dependency: each one given stands for ours
(README, "Replacing the canvas's chart"). Our values for them default to null in values.yaml
and get their defaults here, so that one set explicitly, even to its default, is told from one
left unset: set, and disagreeing with the canvas key given for it, it fails the install rather
than lose silently (a drain step that sets openmetricsImplementation=ServiceMonitor must not
be a no-op on a canvas). */}}
{{- define "aoi.settings" -}}
{{- $ns := .Release.Namespace -}}
{{- $gwName := .Values.gateway.name -}}
{{- $out := include "aoi.settingDefaults" . | fromJson -}}
{{- $ours := include "aoi.ourSettings" .Values | fromJson -}}
{{- $canvas := include "aoi.canvasSettings" .Values | fromJson -}}
{{- range $k, $mine := $ours }}{{ $_ := set $out $k $mine }}{{ end -}}
{{- range $k, $given := $canvas -}}
{{- if hasKey $ours $k -}}
{{- $mine := get $ours $k -}}
{{- $a := include "aoi.comparable" (dict "key" $k "value" $mine "ns" $ns "gateway" $gwName) -}}
{{- $b := include "aoi.comparable" (dict "key" $k "value" $given "ns" $ns "gateway" $gwName) -}}
{{- if ne $a $b -}}
{{- fail (printf "%s is %q but the canvas chart's value for it is %q: set one of them" $k $mine $given) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out $k $given -}}
{{- end -}}
{{- /* An empty componentGateway is the chart's own Gateway. */ -}}
{{- if not $out.componentGateway }}{{ $_ := set $out "componentGateway" (printf "%s/%s" $ns $gwName) }}{{ end -}}
{{- /* The chart would make one Gateway in its namespace while the routes attach to another
there (in VirtualService mode, where they attach to an Istio Gateway such as the chart's):
say, gateway.name changed under the canvas's fixed configmap.componentGateway, which would
also delete the Gateway the routes name, when the release had made it. */ -}}
{{- $gw := $out.componentGateway -}}
{{- if and (eq (index $out "gateway.create") "true") (ne (include "aoi.httpRoutes" .) "true") (hasPrefix (printf "%s/" $ns) $gw) (ne $gw (printf "%s/%s" $ns $gwName)) -}}
{{- $from := ternary "the canvas chart's configmap.componentGateway" "componentGateway" (hasKey $canvas "componentGateway") -}}
{{- fail (printf "%s is %q but the chart creates the Gateway %s/%s (gateway.name, gateway.create): the routes would attach to a Gateway the chart does not make; set gateway.name to %q, or gateway.create=false" $from $gw $ns $gwName (trimPrefix (printf "%s/" $ns) $gw)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
{{/* The defaults of the settings above (values.yaml documents each beside its null). */}}
{{- define "aoi.settingDefaults" -}}
{{- toJson (dict "watchNamespaces" "" "openmetricsImplementation" "ServiceMonitor" "logLevel" "info" "publicHostname" "" "componentGateway" ""
  "gateway.create" "true" "gateway.hostName" "*" "gateway.httpsRedirect" "true" "gateway.credentialName" "istio-ingress-cert") -}}
{{- end -}}
{{/* A setting as compared with the canvas's: a log level by its meaning, a Python number
as the binary reads it (0 warn, up to 10 debug, 20 info, 30 warn, above that error), an empty
componentGateway as the chart's own Gateway. */}}
{{- define "aoi.comparable" -}}
{{- $v := toString .value -}}
{{- if and (eq .key "logLevel") (regexMatch "^[0-9]+$" $v) -}}
{{- $n := atoi $v -}}
{{- if eq $n 0 }}warn{{ else if le $n 10 }}debug{{ else if le $n 20 }}info{{ else if le $n 30 }}warn{{ else }}error{{ end -}}
{{- else if and (eq .key "componentGateway") (not $v) -}}
{{- printf "%s/%s" .ns .gateway -}}
{{- else if eq .key "watchNamespaces" -}}
{{- /* The same patterns in another order, or with spaces, are the same namespaces. */ -}}
{{- $entries := list -}}
{{- range splitList "," $v }}{{ with trim . }}{{ $entries = append $entries . }}{{ end }}{{ end -}}
{{- $entries | uniq | sortAlpha | join "," -}}
{{- else -}}
{{- $v -}}
{{- end -}}
{{- end -}}
{{/* Our values for those settings that are set, as strings. A null default comes here as
a missing key (a subchart's top-level null is dropped) or as nil (a nested one stays):
index gives nil for both (sprig's get would give ""), and kindIs "invalid" is true of it. */}}
{{- define "aoi.ourSettings" -}}
{{- $gw := .gateway | default dict -}}
{{- $out := dict -}}
{{- if not (kindIs "invalid" .watchNamespaces) }}{{ $_ := set $out "watchNamespaces" (join "," .watchNamespaces) }}{{ end -}}
{{- range $k := list "openmetricsImplementation" "logLevel" "publicHostname" "componentGateway" -}}
{{- if not (kindIs "invalid" (index $ $k)) }}{{ $_ := set $out $k (toString (index $ $k)) }}{{ end -}}
{{- end -}}
{{- range $k := list "create" "hostName" "httpsRedirect" "credentialName" -}}
{{- if not (kindIs "invalid" (index $gw $k)) }}{{ $_ := set $out (printf "gateway.%s" $k) (toString (index $gw $k)) }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
{{/* The canvas chart's keys that are given: under deployment and configmap, as its chart
reads them, and hostName, httpsRedirect and credentialName at the top too, where the
canvas's umbrella chart puts them. */}}
{{- define "aoi.canvasSettings" -}}
{{- $dep := .deployment | default dict -}}
{{- $cm := .configmap | default dict -}}
{{- $out := dict -}}
{{- with $dep.monitoredNamespaces }}{{ $_ := set $out "watchNamespaces" (regexSplit "\\s*,\\s*" (trim .) -1 | compact | join ",") }}{{ end -}}
{{- with $dep.openMetricsImplementation }}{{ $_ := set $out "openmetricsImplementation" . }}{{ end -}}
{{- if hasKey $dep "istioGateway" }}{{ $_ := set $out "gateway.create" (toString $dep.istioGateway) }}{{ end -}}
{{- if not (kindIs "invalid" $cm.loglevel) }}{{ $_ := set $out "logLevel" (toString $cm.loglevel) }}{{ end -}}
{{- with $cm.publicHostname }}{{ $_ := set $out "publicHostname" . }}{{ end -}}
{{- with $cm.componentGateway }}{{ $_ := set $out "componentGateway" . }}{{ end -}}
{{- range $k := list "hostName" "httpsRedirect" "credentialName" -}}
{{- if hasKey $dep $k }}{{ $_ := set $out (printf "gateway.%s" $k) (toString (get $dep $k)) }}
{{- else if hasKey $ $k }}{{ $_ := set $out (printf "gateway.%s" $k) (toString (get $ $k)) }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
{{/* The watched namespaces, as a list. */}}
{{- define "aoi.watchNamespaces" -}}
{{- (include "aoi.settings" . | fromJson).watchNamespaces | splitList "," | compact | toJson -}}
{{- end -}}
{{/* The Gateway the VirtualServices attach to: the value, else the chart's own Gateway. */}}
{{- define "aoi.componentGateway" -}}
{{- (include "aoi.settings" . | fromJson).componentGateway -}}
{{- end -}}
{{/* "true" in HTTPRoute mode (routeAPI). */}}
{{- define "aoi.httpRoutes" -}}{{ eq (.Values.routeAPI | default "VirtualService") "HTTPRoute" }}{{- end -}}
{{/* "true" when the watched namespaces get a Role each: names only, and each of them there.
A Role cannot be made in a namespace that does not exist yet, and the canvas's chart, which
grants a ClusterRole, serves a namespace listed before it is created; so a list naming one
that is missing at this install or upgrade gets the ClusterRole, as a pattern does. helm
template has no cluster (lookup finds not even kube-system), and renders the Roles. */}}
{{- define "aoi.rolePerNamespace" -}}
{{- $watched := include "aoi.watchNamespaces" . | fromJsonArray -}}
{{- if and $watched (not (include "aoi.namespacePatterns" .)) -}}
{{- $missing := false -}}
{{- if lookup "v1" "Namespace" "" "kube-system" -}}
{{- range $watched }}{{ if not (lookup "v1" "Namespace" "" .) }}{{ $missing = true }}{{ end }}{{ end -}}
{{- end -}}
{{- not $missing -}}
{{- end -}}
{{- end -}}
{{/* "true" when some watchNamespaces entry is a pattern: it needs cluster-wide watches. */}}
{{- define "aoi.namespacePatterns" -}}
{{- range include "aoi.watchNamespaces" . | fromJsonArray }}{{ if regexMatch "[*?\\[!\\\\]" . }}true{{ end }}{{ end -}}
{{- end -}}
{{/* "true" when cert-manager issues the webhook certificate, else "false" (the operator's own CA).
Every template asks this, never certManager.enabled: "auto" is decided here. auto takes
cert-manager only when the cluster serves it (not, say, on a first install of the canvas's
umbrella chart, which installs cert-manager and its CRDs in the same release, so that its kinds
are unknown when Helm maps the manifest) and the self-managed CA Secret does not exist: the
operator creates that Secret before serving in self-managed mode, and it outlives the release,
so a release that started self-managed stays so when cert-manager comes later, rather than
switch its certificate source in an upgrade with no step first (README, Upgrades that need a
step first). lookup finds nothing under helm template, and is asked only when cert-manager is
served. */}}
{{- define "aoi.certManager" -}}
{{- $enabled := toString .Values.certManager.enabled -}}
{{- if eq $enabled "auto" -}}
{{- if and (.Capabilities.APIVersions.Has "cert-manager.io/v1") (not (lookup "v1" "Secret" .Release.Namespace (include "aoi.caSecret" .))) -}}
true
{{- else -}}
false
{{- end -}}
{{- else -}}
{{ eq $enabled "true" }}
{{- end -}}
{{- end -}}
{{- define "aoi.webhookCA" -}}{{ include "aoi.fullname" . }}-webhook-ca{{- end -}}
{{- /* The bundle comes from the chart's CA Certificate, which serving renewals leave alone;
with the user's issuer, from the serving Certificate (its Secret's ca.crt). */}}
{{- define "aoi.injectCA" -}}
{{- if eq (include "aoi.certManager" .) "true" }}
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
  # VirtualServices of a former VirtualService mode are removed; one the Python operator
  # made is labelled first, so that it is watched until its API's HTTPRoute replaces it;
  # one of another owner that held an API's name is read directly.
  verbs: ["get", "list", "watch", "update", "delete"]
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
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
{{- if eq (include "aoi.settings" . | fromJson).openmetricsImplementation "ServiceMonitor" }}
  verbs: ["list", "watch", "create", "update", "delete"]
{{- else }}
  # The annotation patterns only remove what the ServiceMonitor pattern left.
  verbs: ["list", "delete"]
{{- end }}
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
{{- if and (eq (include "aoi.httpRoutes" .) "true") (not (contains "/" (include "aoi.componentGateway" .))) }}
{{- /* HTTPRoute mode: token checks attach to each namespace's own Gateway, in its namespace. */}}
{{- include "aoi.tokenCheckRules" . }}
{{- end }}
{{- end -}}

{{/* Token checks, only when they are configured. */}}
{{- define "aoi.tokenCheckRules" -}}
{{- if or .Values.apiKeyVerification.jwtIssuer .Values.apiKeyVerification.authzProvider }}
- apiGroups: ["security.istio.io"]
  resources: ["requestauthentications", "authorizationpolicies"]
  verbs: ["get", "create", "update", "delete"]
{{- end }}
{{- end -}}

{{/* Token checks and rate limits on the ingress gateway, only when they are configured. */}}
{{- define "aoi.gatewayPolicyRules" -}}
{{- include "aoi.tokenCheckRules" . }}
{{- if and (eq .Values.rateLimitMode "local") (ne (include "aoi.httpRoutes" .) "true") }}
{{- /* A local rate limit patches the VirtualService's named route: none in HTTPRoute mode. */}}
- apiGroups: ["networking.istio.io"]
  resources: ["envoyfilters"]
  verbs: ["get", "create", "update", "delete"]
{{- end }}
{{- end -}}
{{- /* aoi.image: with the canvas's global.image.registry set (a private registry the
canvas's images are mirrored to), that registry takes the place of the repository's own (a
first path segment with a dot or a colon, or localhost): the canvas's charts put it before
their Docker Hub paths, so a mirror keeps each image's path without its registry. */}}
{{- define "aoi.image" -}}
{{- $repo := .Values.image.repository -}}
{{- with dig "image" "registry" "" (.Values.global | default dict) -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" .) (regexReplaceAll "^(localhost|[^/]*[.:][^/]*)/" $repo "") -}}
{{- end -}}
{{- $repo }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{/* The seconds of a Go duration as values.schema.json allows it (0, 5s, 1m30s, 500ms). */}}
{{- define "aoi.seconds" -}}
{{- $total := 0.0 -}}
{{- $unit := dict "ns" 0.000000001 "us" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)" . -1 -}}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $total = addf $total (mulf (float64 $n) (get $unit (trimPrefix $n .))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
