{{/* Chart name, at most 63 characters. */}}
{{- define "particlegrid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already holds the chart name. Leaves room for suffixes. */}}
{{- define "particlegrid.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "particlegrid.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "particlegrid.labels" -}}
helm.sh/chart: {{ include "particlegrid.chart" . }}
{{ include "particlegrid.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: particlegrid
{{- end }}

{{- define "particlegrid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "particlegrid.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Orleans Kubernetes hosting finds the silos of a cluster by these pod labels. */}}
{{- define "particlegrid.orleansLabels" -}}
orleans/serviceId: {{ .Values.orleans.serviceId | quote }}
orleans/clusterId: {{ .Values.orleans.clusterId | quote }}
{{- end }}

{{- define "particlegrid.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "particlegrid.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "particlegrid.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "particlegrid.workerImage" -}}
{{- $repository := .Values.worker.image.repository | default .Values.image.repository }}
{{- $tag := .Values.worker.image.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{- define "particlegrid.postgresqlName" -}}
{{- printf "%s-postgresql" (include "particlegrid.fullname" .) }}
{{- end }}

{{/* The Secret and key holding the PostgreSQL connection string: the bundled one's, or an existing one. */}}
{{- define "particlegrid.postgresSecretName" -}}
{{- if .Values.postgresql.bundled.enabled }}
{{- include "particlegrid.postgresqlName" . }}
{{- else }}
{{- required "postgresql.existingSecret: name a Secret holding the PostgreSQL connection string, or set postgresql.bundled.enabled=true" .Values.postgresql.existingSecret }}
{{- end }}
{{- end }}

{{- define "particlegrid.postgresSecretKey" -}}
{{- if .Values.postgresql.bundled.enabled }}connectionString{{ else }}{{ required "postgresql.existingSecretKey is required" .Values.postgresql.existingSecretKey }}{{ end }}
{{- end }}

{{/*
The pod spec's common parts for a silo: environment, probes, lifecycle, volumes. Call with
(dict "root" $ "role" "gateway"|"worker" "values" .Values.gateway|.Values.worker).
*/}}
{{- define "particlegrid.siloEnv" -}}
{{- $root := .root -}}
- name: PARTICLEGRID__ROLES
  value: {{ .role | quote }}
- name: PARTICLEGRID__POSTGRESCONNECTIONSTRING
  valueFrom:
    secretKeyRef:
      name: {{ include "particlegrid.postgresSecretName" $root }}
      key: {{ include "particlegrid.postgresSecretKey" $root }}
# Downward API: the address other silos reach this one at, and what Orleans Kubernetes hosting reads.
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: PARTICLEGRID__ADVERTISEDIPADDRESS
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ORLEANS_SERVICE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['orleans/serviceId']
- name: ORLEANS_CLUSTER_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['orleans/clusterId']
{{- if $root.Values.tls.enabled }}
- name: PARTICLEGRID__TLS__CERTIFICATEPATH
  value: {{ printf "%s/%s" (trimSuffix "/" $root.Values.tls.mountPath) $root.Values.tls.certificateKey | quote }}
- name: PARTICLEGRID__TLS__CERTIFICATEPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "tls.secretName: name the Secret holding the PFX and its password (tls.enabled is true)" $root.Values.tls.secretName }}
      key: {{ $root.Values.tls.passwordKey }}
- name: PARTICLEGRID__TLS__CACERTIFICATEPATH
  value: {{ printf "%s/%s" (trimSuffix "/" $root.Values.tls.mountPath) $root.Values.tls.caKey | quote }}
{{- else if $root.Values.tls.insecure }}
- name: PARTICLEGRID__TLS__INSECURE
  value: "true"
{{- else }}
{{- fail "tls.enabled is false: cluster mode needs mutual TLS (docs/security.md). Only for a throw-away cluster: --set tls.insecure=true" }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "particlegrid.siloPorts" -}}
- name: http
  containerPort: {{ .Values.http.port }}
  protocol: TCP
- name: silo
  containerPort: {{ .Values.orleans.siloPort }}
  protocol: TCP
- name: gateway
  containerPort: {{ .Values.orleans.gatewayPort }}
  protocol: TCP
- name: metrics
  containerPort: {{ .Values.metrics.port }}
  protocol: TCP
{{- end }}

{{- define "particlegrid.siloProbes" -}}
startupProbe:
  httpGet:
    path: {{ .Values.probes.startup.path }}
    port: http
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: {{ .Values.probes.liveness.path }}
    port: http
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: {{ .Values.probes.readiness.path }}
    port: http
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- end }}

{{- define "particlegrid.siloVolumeMounts" -}}
- name: data
  mountPath: /var/lib/particlegrid
- name: tmp
  mountPath: /tmp
{{- if .Values.models.existingClaim }}
- name: models
  mountPath: {{ .Values.models.mountPath }}
  readOnly: true
{{- end }}
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: {{ .Values.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "particlegrid.siloVolumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if .Values.models.existingClaim }}
- name: models
  persistentVolumeClaim:
    claimName: {{ .Values.models.existingClaim }}
    readOnly: true
{{- end }}
{{- if .Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ required "tls.secretName: name the Secret holding the PFX and its password (tls.enabled is true)" .Values.tls.secretName }}
    defaultMode: 0440
    items:
      - key: {{ .Values.tls.certificateKey }}
        path: {{ .Values.tls.certificateKey }}
      - key: {{ .Values.tls.caKey }}
        path: {{ .Values.tls.caKey }}
{{- end }}
{{- end }}

{{/* `serve` arguments: HTTP on all addresses, the data directory on the pod's emptyDir. */}}
{{- define "particlegrid.serveArgs" -}}
- --urls
- {{ printf "http://0.0.0.0:%v" .root.Values.http.port | quote }}
- --data-dir
- /var/lib/particlegrid
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The prometheus-adapter rule: p90 (prometheusAdapter.quantile) of the queue delay, per worker pod. */}}
{{- define "particlegrid.queueDelayRule" -}}
- seriesQuery: 'particlegrid_queue_delay_seconds_bucket{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^particlegrid_queue_delay_seconds_bucket$"
    as: {{ .Values.worker.autoscaling.metricName | quote }}
  metricsQuery: 'histogram_quantile({{ .Values.prometheusAdapter.quantile }}, sum(rate(<<.Series>>{<<.LabelMatchers>>}[{{ .Values.prometheusAdapter.rateWindow }}])) by (le, <<.GroupBy>>))'
{{- end }}
