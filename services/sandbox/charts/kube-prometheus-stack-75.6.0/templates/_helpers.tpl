{{/* The chart's name (nameOverride), cut to 63 characters. */}}
{{- define "kube-prometheus-stack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name: the release name when it already contains the chart's name, else
"<release>-<chart>". Cut to 26 characters, as in the real chart, because the operator and the
StatefulSets it creates add long suffixes ("prometheus-<fullname>-prometheus-0").
*/}}
{{- define "kube-prometheus-stack.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 26 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 26 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 26 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kube-prometheus-stack.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "kube-prometheus-stack.chartref" -}}
{{- replace "+" "_" .Chart.Version | printf "%s-%s" .Chart.Name }}
{{- end }}

{{/* Labels on every object of the chart; `release` is what the default selectors key on. */}}
{{- define "kube-prometheus-stack.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.Version | quote }}
app.kubernetes.io/part-of: {{ include "kube-prometheus-stack.name" . }}
chart: {{ include "kube-prometheus-stack.chartref" . }}
release: {{ .Release.Name | quote }}
heritage: {{ .Release.Service | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "kube-prometheus-stack.operator.fullname" -}}
{{- printf "%s-operator" (include "kube-prometheus-stack.fullname" .) }}
{{- end }}

{{- define "kube-prometheus-stack.operator.serviceAccountName" -}}
{{- if .Values.prometheusOperator.serviceAccount.create }}
{{- default (include "kube-prometheus-stack.operator.fullname" .) .Values.prometheusOperator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.prometheusOperator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kube-prometheus-stack.prometheus.crname" -}}
{{- printf "%s-prometheus" (include "kube-prometheus-stack.fullname" .) }}
{{- end }}

{{- define "kube-prometheus-stack.prometheus.serviceAccountName" -}}
{{- if .Values.prometheus.serviceAccount.create }}
{{- default (include "kube-prometheus-stack.prometheus.crname" .) .Values.prometheus.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.prometheus.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kube-prometheus-stack.alertmanager.crname" -}}
{{- printf "%s-alertmanager" (include "kube-prometheus-stack.fullname" .) }}
{{- end }}

{{- define "kube-prometheus-stack.alertmanager.serviceAccountName" -}}
{{- if .Values.alertmanager.serviceAccount.create }}
{{- default (include "kube-prometheus-stack.alertmanager.crname" .) .Values.alertmanager.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.alertmanager.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "<registry>/<repository>:<tag>[@sha256:<sha>]" from an image value; `tag` defaults to `default`. */}}
{{- define "kube-prometheus-stack.image" -}}
{{- $registry := .root.Values.global.imageRegistry | default .image.registry -}}
{{- $tag := .image.tag | default .default -}}
{{- if .image.sha -}}
{{- printf "%s/%s:%s@sha256:%s" $registry .image.repository $tag .image.sha }}
{{- else -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag }}
{{- end -}}
{{- end }}

{{/*
A monitor selector of the Prometheus spec as the real chart writes it: the one given; else, with
`<kind>SelectorNilUsesHelmValues`, the ServiceMonitors (PodMonitors, rules, probes) labelled
`release: <release>`; else `{}`, which selects every one.
*/}}
{{- define "kube-prometheus-stack.monitorSelector" -}}
{{- if .selector -}}
{{- toYaml .selector }}
{{- else if .nilUsesHelmValues -}}
matchLabels:
  release: {{ .root.Release.Name | quote }}
{{- else -}}
{}
{{- end }}
{{- end }}

{{/* The operator's labels: `app.kubernetes.io/component: prometheus-operator` is what finds it. */}}
{{- define "kube-prometheus-stack.operator.labels" -}}
app: {{ include "kube-prometheus-stack.name" . }}-operator
app.kubernetes.io/name: {{ include "kube-prometheus-stack.name" . }}-prometheus-operator
app.kubernetes.io/component: prometheus-operator
{{ include "kube-prometheus-stack.labels" . }}
{{- end }}

{{- define "kube-prometheus-stack.prometheus.labels" -}}
app: {{ include "kube-prometheus-stack.name" . }}-prometheus
{{ include "kube-prometheus-stack.labels" . }}
{{- end }}

{{- define "kube-prometheus-stack.alertmanager.labels" -}}
app: {{ include "kube-prometheus-stack.name" . }}-alertmanager
{{ include "kube-prometheus-stack.labels" . }}
{{- end }}
