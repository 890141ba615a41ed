{{- define "alloy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release name when it contains "alloy", else "<release>-alloy". */}}
{{- define "alloy.fullname" -}}
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

{{- define "alloy.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "alloy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alloy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "alloy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "alloy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: alloy
{{- end }}

{{- define "alloy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "alloy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ConfigMap the configuration is read from: the chart's own, or the one named. */}}
{{- define "alloy.config-map.name" -}}
{{- if .Values.alloy.configMap.create }}
{{- include "alloy.fullname" . }}
{{- else }}
{{- required "alloy.configMap.name is required when alloy.configMap.create is false" .Values.alloy.configMap.name }}
{{- end }}
{{- end }}

{{- define "alloy.config-map.key" -}}
{{- .Values.alloy.configMap.key | default "config.alloy" }}
{{- end }}

{{- define "alloy.image" -}}
{{- $registry := .global.registry | default .image.registry -}}
{{- $tag := .image.tag | default .appVersion -}}
{{- if .image.digest -}}
{{- printf "%s/%s@%s" $registry .image.repository .image.digest }}
{{- else -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag }}
{{- end -}}
{{- end }}
