{{/*
Helpers shared by every EventTickets chart. A chart calls them with its own context (.), so .Chart.Name is
the component (users, redis, grafana...) and .Release.Name the umbrella release.
*/}}

{{/* <release>-<component>: the name of every object of a component (Deployment, Service, ServiceAccount...). */}}
{{- define "eventtickets-lib.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name another component of the same release answers to: (dict "root" $ "name" "inventory"). */}}
{{- define "eventtickets-lib.componentName" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eventtickets-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Chart.Name }}
{{- end -}}

{{- define "eventtickets-lib.labels" -}}
{{ include "eventtickets-lib.selectorLabels" . }}
app.kubernetes.io/part-of: eventtickets
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | default .Chart.Version | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selects the pods of another component of this release: (dict "root" $ "name" "gateway"). */}}
{{- define "eventtickets-lib.componentSelector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The Secret holding the release's generated (or supplied) secrets. */}}
{{- define "eventtickets-lib.secretName" -}}
{{- $g := .Values.global | default dict -}}
{{- $s := $g.secrets | default dict -}}
{{- $s.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

{{/*
An image reference: (dict "root" $ "image" .Values.image "defaultTag" "x"). The registry is global.imageRegistry
when the image names none; a digest wins over a tag. Never "latest": the schema refuses it.
*/}}
{{- define "eventtickets-lib.image" -}}
{{- $g := .root.Values.global | default dict -}}
{{- $registry := .image.registry | default $g.imageRegistry | default "" -}}
{{- $repo := .image.repository -}}
{{- if $registry }}{{ $repo = printf "%s/%s" (trimSuffix "/" $registry) $repo }}{{ end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.image.tag | default .defaultTag | toString) -}}
{{- end -}}
{{- end -}}

{{/* Pod security context: non-root with a fixed uid/gid, seccomp RuntimeDefault. (dict "uid" 1000 "fsGroup" true) */}}
{{- define "eventtickets-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
{{- if .fsGroup }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security context: read-only root filesystem, nothing gained, every capability dropped. */}}
{{- define "eventtickets-lib.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Spread replicas over nodes (and zones when labelled), preferring, never blocking a rollout. */}}
{{- define "eventtickets-lib.topologySpread" -}}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "eventtickets-lib.selectorLabels" . | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "eventtickets-lib.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Is the NetworkPolicy layer on (global.networkPolicy.enabled, default true). */}}
{{- define "eventtickets-lib.networkPolicyEnabled" -}}
{{- $g := .Values.global | default dict -}}
{{- $np := $g.networkPolicy | default dict -}}
{{- if or (not (hasKey $np "enabled")) $np.enabled }}true{{ end -}}
{{- end -}}

{{/*
NetworkPolicy of a component: (dict "root" $ "ingress" (list ...) "egress" (list ...)). Every pod of the
release is also selected by the release's default-deny policy (umbrella templates/networkpolicy.yaml), so
what is not listed here is refused. DNS egress is always allowed; global.networkPolicy.extraEgress (e.g.
the CIDRs of external Postgres and Redis) is added to every component.
*/}}
{{- define "eventtickets-lib.networkPolicy" -}}
{{- if include "eventtickets-lib.networkPolicyEnabled" .root }}
{{- $g := .root.Values.global | default dict -}}
{{- $np := $g.networkPolicy | default dict -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "eventtickets-lib.fullname" .root }}
  labels:
    {{- include "eventtickets-lib.labels" .root | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ .root.Chart.Name }}
      app.kubernetes.io/instance: {{ .root.Release.Name }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- if .ingress }}
    {{- toYaml .ingress | nindent 4 }}
    {{- else }} []
    {{- end }}
  egress:
    - ports:
        - { protocol: UDP, port: 53 }
        - { protocol: TCP, port: 53 }
    {{- with .egress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* A NetworkPolicy peer for the release's pods carrying a client label: (dict "root" $ "label" "postgres-client"). */}}
{{- define "eventtickets-lib.clientPeer" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    eventtickets.io/{{ .label }}: "true"
{{- end -}}

{{/* A NetworkPolicy peer for pods of another component: (dict "root" $ "name" "gateway"). */}}
{{- define "eventtickets-lib.peer" -}}
podSelector:
  matchLabels:
    {{- include "eventtickets-lib.componentSelector" . | nindent 4 }}
{{- end -}}

{{/*
Where Prometheus scrapes from: the in-chart Prometheus's pods, plus global.networkPolicy.metricsFrom
(peers of an external Prometheus, e.g. a namespaceSelector for the monitoring namespace).
*/}}
{{- define "eventtickets-lib.metricsPeers" -}}
{{- $g := .Values.global | default dict -}}
{{- $np := $g.networkPolicy | default dict -}}
{{- $peers := list -}}
{{- if ($g.prometheus | default dict).enabled -}}
{{- $peers = append $peers (fromYaml (include "eventtickets-lib.peer" (dict "root" . "name" "prometheus"))) -}}
{{- end -}}
{{- range $np.metricsFrom }}{{ $peers = append $peers . }}{{ end -}}
{{- toYaml $peers -}}
{{- end -}}
