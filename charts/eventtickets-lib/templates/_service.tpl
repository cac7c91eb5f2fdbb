{{/*
The whole of one EventTickets service: a service subchart's only template is
  {{ include "eventtickets-lib.service" . }}
and its values.yaml says what is its own (see charts/README.md "A service subchart"). Every service listens
on port 8080 in the cluster (PORT), so a caller's URL is http://<release>-<service>:8080 whatever the service.
*/}}

{{- define "eventtickets-lib.service.port" -}}8080{{- end -}}

{{/* Effective replicas: the HPA's minimum when autoscaling, else replicaCount. */}}
{{- define "eventtickets-lib.service.minReplicas" -}}
{{- $a := .Values.autoscaling | default dict -}}
{{- if $a.enabled }}{{ $a.minReplicas | default 2 }}{{ else }}{{ .Values.replicaCount | default 1 }}{{ end -}}
{{- end -}}

{{/* Environment of the service container (and, with "migration" true, of its migration Job: data only). */}}
{{- define "eventtickets-lib.service.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $g := $v.global | default dict -}}
{{- $pg := $g.postgresql | default dict -}}
{{- $redis := $g.redis | default dict -}}
{{- $secret := include "eventtickets-lib.secretName" $root -}}
{{- $svc := $root.Chart.Name -}}
{{- if $v.uses.database }}
{{- if $pg.enabled }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ printf "db-%s-password" $svc }} }
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s:5432/%s" $svc (include "eventtickets-lib.componentName" (dict "root" $root "name" "postgresql")) $svc | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "global.postgresql.external.existingSecret is required when global.postgresql.enabled is false" ($pg.external | default dict).existingSecret }}
      key: {{ printf "%s-database-url" $svc }}
{{- end }}
{{- end }}
{{- if not .migration }}
- name: NODE_ENV
  value: {{ $g.nodeEnv | default "production" | quote }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | default $g.logLevel | default "info" | quote }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ include "eventtickets-lib.service.port" $root | quote }}
{{- with $v.metricsPort }}
- name: METRICS_PORT
  value: {{ . | quote }}
{{- end }}
- name: SERVICE_NAME
  value: {{ $svc }}
- name: OTEL_SERVICE_NAME
  value: {{ $svc }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ mul ($v.shutdownTimeoutSeconds | default 10) 1000 | quote }}
{{- $otlp := $g.otlpEndpoint | default "" -}}
{{- if and (not $otlp) ($g.jaeger | default dict).enabled }}
{{- $otlp = printf "http://%s:4318" (include "eventtickets-lib.componentName" (dict "root" $root "name" "jaeger")) -}}
{{- end }}
{{- if $otlp }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $otlp | quote }}
{{- end }}
- name: INTERNAL_TOKEN_SECRET
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: internal-token-secret }
{{- if $v.uses.redis }}
{{- if $redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: redis-password }
{{- $name := include "eventtickets-lib.componentName" (dict "root" $root "name" "redis") -}}
{{- $urls := list -}}
{{- range $i, $_ := until (int ($redis.masters | default 3)) }}
{{- $urls = append $urls (printf "redis://:$(REDIS_PASSWORD)@%s-%d.%s-headless:6379" $name $i $name) -}}
{{- end }}
- name: REDIS_URL
  value: {{ join "," $urls | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "global.redis.external.existingSecret is required when global.redis.enabled is false" ($redis.external | default dict).existingSecret }}
      key: redis-url
{{- end }}
{{- end }}
{{- if $v.uses.smtp }}
{{- $smtp := $g.smtp | default dict -}}
{{- if ($g.mailpit | default dict).enabled }}
- name: SMTP_URL
  value: {{ printf "smtp://%s:1025" (include "eventtickets-lib.componentName" (dict "root" $root "name" "mailpit")) | quote }}
{{- else }}
- name: SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "global.smtp.existingSecret is required when global.mailpit.enabled is false" $smtp.existingSecret }}
      key: smtp-url
{{- end }}
{{- end }}
{{- if and $v.uses.smtp $g.appUrl }}
- name: APP_URL
  value: {{ $g.appUrl | quote }}
{{- end }}
{{- range $v.upstreams }}
- name: {{ printf "%s_URL" (upper .) }}
  value: {{ printf "http://%s:%s" (include "eventtickets-lib.componentName" (dict "root" $root "name" .)) (include "eventtickets-lib.service.port" $root) | quote }}
{{- end }}
{{- range $name, $key := $v.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $key }} }
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod labels naming the data stores a pod may reach (the infrastructure charts' NetworkPolicies allow these). */}}
{{- define "eventtickets-lib.service.clientLabels" -}}
{{- $v := .Values -}}
{{- if $v.uses.database }}
eventtickets.io/postgres-client: "true"
{{- end }}
{{- if $v.uses.redis }}
eventtickets.io/redis-client: "true"
{{- end }}
{{- if $v.uses.smtp }}
eventtickets.io/smtp-client: "true"
{{- end }}
eventtickets.io/otlp-client: "true"
{{- end -}}

{{- define "eventtickets-lib.service" -}}
{{- $v := .Values -}}
{{- $g := $v.global | default dict -}}
{{- $fullname := include "eventtickets-lib.fullname" . -}}
{{- $port := include "eventtickets-lib.service.port" . | int -}}
{{- $minReplicas := include "eventtickets-lib.service.minReplicas" . | int -}}
{{- $uid := 1000 -}}
{{- $image := include "eventtickets-lib.image" (dict "root" . "image" $v.image "defaultTag" ($g.imageTag | default .Chart.AppVersion)) -}}
{{- $pullPolicy := $v.image.pullPolicy | default $g.imagePullPolicy | default "IfNotPresent" -}}
{{- $metricsPort := $v.metricsPort | default $port | int -}}
{{- $preStop := $v.preStopSeconds | default 5 | int -}}
{{- $shutdown := $v.shutdownTimeoutSeconds | default 10 | int -}}
{{- $res := $v.resources | default (dict "requests" (dict "cpu" "100m" "memory" "192Mi") "limits" (dict "memory" "384Mi")) -}}
{{- $live := $g.liveUpdate | default false -}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
automountServiceAccountToken: false
{{- with $v.env }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "eventtickets-lib.labels" $ | nindent 4 }}
data:
  {{- range $k, $val := . }}
  {{ $k }}: {{ $val | toString | quote }}
  {{- end }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "eventtickets-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ $port }}
      targetPort: http
      protocol: TCP
    {{- if $v.metricsPort }}
    - name: metrics
      port: {{ $v.metricsPort }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
spec:
  {{- if not ($v.autoscaling | default dict).enabled }}
  replicas: {{ $minReplicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "eventtickets-lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "eventtickets-lib.labels" . | nindent 8 }}
        {{- include "eventtickets-lib.service.clientLabels" . | trim | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $metricsPort | quote }}
        prometheus.io/path: /metrics
        checksum/env: {{ toYaml $v.env | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $fullname }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with $g.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "eventtickets-lib.podSecurityContext" (dict "uid" $uid) | nindent 8 }}
      terminationGracePeriodSeconds: {{ add $preStop $shutdown 5 }}
      topologySpreadConstraints:
        {{- include "eventtickets-lib.topologySpread" . | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if or $v.uses.database $live }}
      initContainers:
      {{- end }}
      {{- if $live }}
        # Dev live update (global.liveUpdate): the sources live in a writable emptyDir that Tilt syncs into and
        # node --watch restarts on; the root filesystem stays read-only.
        - name: live-sources
          image: {{ $image }}
          imagePullPolicy: {{ $pullPolicy }}
          command: ["cp", "-R", "/app/services/.", "/live/"]
          securityContext:
            {{- include "eventtickets-lib.containerSecurityContext" . | nindent 12 }}
          resources:
            {{- toYaml $res | nindent 12 }}
          volumeMounts:
            - { name: live, mountPath: /live }
      {{- end }}
      {{- if $v.uses.database }}
        # Waits (bounded) until the service's database answers: on a first install the in-chart Postgres and
        # its roles come up alongside the services. Then the service migrates at start under the advisory lock.
        - name: wait-for-database
          image: {{ $image }}
          imagePullPolicy: {{ $pullPolicy }}
          command: ["node", "/app/ops/migrate.ts", "--wait-only"]
          env:
            {{- include "eventtickets-lib.service.env" (dict "root" . "migration" true) | trim | nindent 12 }}
          securityContext:
            {{- include "eventtickets-lib.containerSecurityContext" . | nindent 12 }}
          resources:
            {{- toYaml $res | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ $image }}
          imagePullPolicy: {{ $pullPolicy }}
          {{- if $live }}
          command: ["node", "--watch", "--import", "/app/services/platform/src/tracing-register.ts", "src/main.ts"]
          {{- end }}
          env:
            {{- include "eventtickets-lib.service.env" (dict "root" .) | trim | nindent 12 }}
          {{- if $v.env }}
          envFrom:
            - configMapRef:
                name: {{ $fullname }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $port }}
              protocol: TCP
            {{- if $v.metricsPort }}
            - name: metrics
              containerPort: {{ $v.metricsPort }}
              protocol: TCP
            {{- end }}
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          lifecycle:
            # Drain: keep serving while the endpoint removal reaches every proxy, then SIGTERM starts the
            # service's graceful shutdown (in-flight requests finish within SHUTDOWN_TIMEOUT_MS).
            preStop:
              exec:
                command: ["sleep", "{{ $preStop }}"]
          securityContext:
            {{- include "eventtickets-lib.containerSecurityContext" . | nindent 12 }}
          resources:
            {{- toYaml $res | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
            {{- if $live }}
            - { name: live, mountPath: /app/services }
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 64Mi }
        {{- if $live }}
        - name: live
          emptyDir: { sizeLimit: 256Mi }
        {{- end }}
{{- if ($v.autoscaling | default dict).enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ $minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas | default 6 }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage | default 70 }}
{{- end }}
{{- if gt $minReplicas 1 }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "eventtickets-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- include "eventtickets-lib.service.networkPolicy" . }}
{{- include "eventtickets-lib.service.serviceMonitor" . }}
{{- include "eventtickets-lib.service.migrationJob" . }}
{{- end -}}

{{/* Ingress: the port from callers (or from anywhere for the public gateway), metrics from Prometheus.
     Egress: the upstreams, the data stores, the trace collector. */}}
{{- define "eventtickets-lib.service.networkPolicy" -}}
{{- $root := . -}}
{{- $v := .Values -}}
{{- $g := $v.global | default dict -}}
{{- $np := $g.networkPolicy | default dict -}}
{{- $httpPort := dict "protocol" "TCP" "port" (include "eventtickets-lib.service.port" . | int) -}}
{{- $metricsPort := dict "protocol" "TCP" "port" ($v.metricsPort | default (include "eventtickets-lib.service.port" .) | int) -}}
{{- $ingress := list -}}
{{- if $v.public -}}
{{- $from := $np.publicFrom | default list -}}
{{- if $from -}}
{{- $ingress = append $ingress (dict "from" $from "ports" (list $httpPort)) -}}
{{- else -}}
{{- $ingress = append $ingress (dict "ports" (list $httpPort)) -}}
{{- end -}}
{{- end -}}
{{- $callers := list -}}
{{- range $v.callers }}{{ $callers = append $callers (fromYaml (include "eventtickets-lib.peer" (dict "root" $root "name" .))) }}{{ end -}}
{{- if $callers -}}
{{- $ingress = append $ingress (dict "from" $callers "ports" (list $httpPort)) -}}
{{- end -}}
{{- /* An ingress rule with an empty "from" admits everyone: no scraper, no rule. */ -}}
{{- $scrapers := fromYamlArray (include "eventtickets-lib.metricsPeers" .) -}}
{{- if $scrapers -}}
{{- $ingress = append $ingress (dict "from" $scrapers "ports" (list $metricsPort)) -}}
{{- end -}}
{{- $egress := list -}}
{{- range $v.upstreams }}
{{- $egress = append $egress (dict "to" (list (fromYaml (include "eventtickets-lib.peer" (dict "root" $root "name" .)))) "ports" (list $httpPort)) -}}
{{- end -}}
{{- if and $v.uses.database ($g.postgresql | default dict).enabled -}}
{{- $egress = append $egress (dict "to" (list (fromYaml (include "eventtickets-lib.peer" (dict "root" $root "name" "postgresql")))) "ports" (list (dict "protocol" "TCP" "port" 5432))) -}}
{{- end -}}
{{- if and $v.uses.redis ($g.redis | default dict).enabled -}}
{{- $egress = append $egress (dict "to" (list (fromYaml (include "eventtickets-lib.peer" (dict "root" $root "name" "redis")))) "ports" (list (dict "protocol" "TCP" "port" 6379))) -}}
{{- end -}}
{{- if and $v.uses.smtp ($g.mailpit | default dict).enabled -}}
{{- $egress = append $egress (dict "to" (list (fromYaml (include "eventtickets-lib.peer" (dict "root" $root "name" "mailpit")))) "ports" (list (dict "protocol" "TCP" "port" 1025))) -}}
{{- end -}}
{{- if ($g.jaeger | default dict).enabled -}}
{{- $egress = append $egress (dict "to" (list (fromYaml (include "eventtickets-lib.peer" (dict "root" $root "name" "jaeger")))) "ports" (list (dict "protocol" "TCP" "port" 4318))) -}}
{{- end -}}
{{- with $v.extraEgress }}{{ range . }}{{ $egress = append $egress . }}{{ end }}{{ end -}}
{{- if include "eventtickets-lib.networkPolicyEnabled" . }}
---
{{ include "eventtickets-lib.networkPolicy" (dict "root" . "ingress" $ingress "egress" $egress) }}
{{- end }}
{{- end -}}

{{/* ServiceMonitor: when the Prometheus Operator's CRD exists, or global.serviceMonitor.enabled says "true". */}}
{{- define "eventtickets-lib.service.serviceMonitor" -}}
{{- $g := .Values.global | default dict -}}
{{- $mode := ($g.serviceMonitor | default dict).enabled | default "auto" | toString -}}
{{- if or (eq $mode "true") (and (eq $mode "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "eventtickets-lib.fullname" . }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
    {{- with ($g.serviceMonitor | default dict).labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "eventtickets-lib.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: {{ if .Values.metricsPort }}metrics{{ else }}http{{ end }}
      path: /metrics
      interval: 30s
{{- end }}
{{- end -}}

{{/*
Migrations as a hook Job running the service's own image (node /app/ops/migrate.ts: the service's migrations
under the platform's advisory lock, the same code the service runs at start). pre-upgrade always: the new
schema is in place before the first new pod. pre-install only when the database is external (it exists
before the release); with the in-chart Postgres a first install has no database yet, so the services migrate
at start (under the same lock) and the hook takes over from the first upgrade.
*/}}
{{- define "eventtickets-lib.service.migrationJob" -}}
{{- $v := .Values -}}
{{- $g := $v.global | default dict -}}
{{- $m := $v.migrations | default dict -}}
{{- if and $v.uses.database (or (not (hasKey $m "enabled")) $m.enabled) }}
{{- $hooks := ternary "pre-upgrade" "pre-install,pre-upgrade" (($g.postgresql | default dict).enabled | default false) -}}
{{- $res := $v.resources | default (dict "requests" (dict "cpu" "100m" "memory" "192Mi") "limits" (dict "memory" "384Mi")) }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-migrate" (include "eventtickets-lib.fullname" .) | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "eventtickets-lib.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: {{ $hooks }}
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 3
  activeDeadlineSeconds: {{ $m.timeoutSeconds | default 600 }}
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: {{ printf "%s-migrations" .Chart.Name }}
        app.kubernetes.io/part-of: eventtickets
        eventtickets.io/postgres-client: "true"
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with $g.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "eventtickets-lib.podSecurityContext" (dict "uid" 1000) | nindent 8 }}
      containers:
        - name: migrate
          image: {{ include "eventtickets-lib.image" (dict "root" . "image" $v.image "defaultTag" ($g.imageTag | default .Chart.AppVersion)) }}
          imagePullPolicy: {{ $v.image.pullPolicy | default $g.imagePullPolicy | default "IfNotPresent" }}
          command: ["node", "/app/ops/migrate.ts"]
          env:
            - { name: SERVICE_NAME, value: {{ .Chart.Name }} }
            {{- include "eventtickets-lib.service.env" (dict "root" . "migration" true) | trim | nindent 12 }}
          securityContext:
            {{- include "eventtickets-lib.containerSecurityContext" . | nindent 12 }}
          resources:
            {{- toYaml $res | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 64Mi }
{{- end }}
{{- end -}}
