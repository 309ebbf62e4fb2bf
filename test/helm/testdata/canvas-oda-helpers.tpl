{{/* The helpers the canvas's api-operator-istio chart takes from its umbrella chart: copied unchanged from tmforum-oda/oda-canvas charts/canvas-oda/templates/_helpers.tpl at a498501 (Apache License 2.0). */}}
{{/*
Custom/private docker image registry
*/}}
{{- define "docker.registry" -}}
{{- if .Values.global.image.registry }}
{{- $registry := (trimSuffix "/" .Values.global.image.registry) }}
{{- printf "%s/" $registry }}
{{- end }}
{{- end }}


{{/*
Create image pull secrets
*/}}
{{- define "image-pull-secrets" -}}
{{- range .Values.global.imagePullSecrets }}
  {{- if eq (typeOf .) "map[string]interface {}" }}
- {{ toYaml . | nindent 0 | trim }}
  {{- else }}
- name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}
