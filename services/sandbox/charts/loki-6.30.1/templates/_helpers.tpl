{{- define "loki.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release name when it contains "loki", else "<release>-loki". */}}
{{- define "loki.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "loki.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "loki.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loki.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "loki.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "loki.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "loki.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loki.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "<registry>/<repository>:<tag>[@<digest>]", the registry overridable by global.image.registry. */}}
{{- define "loki.image" -}}
{{- $registry := .global.registry | default .service.registry | default "" -}}
{{- $repository := .service.repository -}}
{{- $ref := printf ":%s" (.service.tag | default .defaultVersion | toString) -}}
{{- if .service.digest -}}
{{- $ref = printf "@%s" .service.digest -}}
{{- end -}}
{{- if $registry -}}
{{- printf "%s/%s%s" $registry $repository $ref -}}
{{- else -}}
{{- printf "%s%s" $repository $ref -}}
{{- end -}}
{{- end }}

{{- define "loki.isUsingObjectStorage" -}}
{{- ne .Values.loki.storage.type "filesystem" -}}
{{- end }}

{{/* The memcached client settings of one cache (chunks or results), for the Loki configuration. */}}
{{- define "loki.memcachedClient" -}}
addresses: dnssrvnoa+_memcached-client._tcp.{{ .fullname }}-{{ .suffix }}.{{ .namespace }}.svc
consistent_hash: true
timeout: {{ .cache.timeout }}
update_interval: 1m
{{- end }}
