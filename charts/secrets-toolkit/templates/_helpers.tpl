{{/* Names: Kubernetes limits names to 63 characters; a CronJob to 52 (its Jobs add a suffix). */}}
{{- define "secrets-toolkit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "secrets-toolkit.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "secrets-toolkit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "secrets-toolkit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "secrets-toolkit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "secrets-toolkit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "secrets-toolkit.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount of one job: (dict "root" $ "job" "snapshot"). */}}
{{- define "secrets-toolkit.serviceAccountName" -}}
{{- printf "%s-%s" (include "secrets-toolkit.fullname" .root) .job -}}
{{- end -}}

{{- define "secrets-toolkit.configMapName" -}}
{{- printf "%s-config" (include "secrets-toolkit.fullname" .) -}}
{{- end -}}

{{- define "secrets-toolkit.snapshotClaimName" -}}
{{- default (printf "%s-snapshots" (include "secrets-toolkit.fullname" .)) .Values.snapshot.persistence.existingClaim -}}
{{- end -}}

{{/* The regions dr snapshot runs for: snapshot.regions, else every configured region. */}}
{{- define "secrets-toolkit.snapshotRegions" -}}
{{- $names := list -}}
{{- range .Values.config.regions -}}{{- $names = append $names .name -}}{{- end -}}
{{- $chosen := .Values.snapshot.regions | default $names -}}
{{- range $chosen -}}
{{- if not (has . $names) -}}
{{- fail (printf "snapshot.regions names %q, which is not a region in config.regions (%s)" . (join ", " $names)) -}}
{{- end -}}
{{- end -}}
{{- toJson $chosen -}}
{{- end -}}

{{/*
The configuration file: config with, for each region, the Kubernetes auth method filled in
when the region names none, and the projected token's path when it uses that method
without a tokenFile.
*/}}
{{- define "secrets-toolkit.configFile" -}}
{{- $config := deepCopy .Values.config -}}
{{- $vaultAuth := .Values.vaultAuth -}}
{{- range $config.regions -}}
{{- $vault := .vault -}}
{{- if not $vault.auth -}}
{{- $_ := set $vault "auth" (dict "method" "kubernetes" "mount" $vaultAuth.mount "role" $vaultAuth.role "tokenFile" $vaultAuth.tokenPath) -}}
{{- else if and (eq $vault.auth.method "kubernetes") (not $vault.auth.tokenFile) -}}
{{- $_ := set $vault.auth "tokenFile" $vaultAuth.tokenPath -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The metrics flags of one run, as a JSON list: (dict "root" $ "file" "snapshot-region1"). */}}
{{- define "secrets-toolkit.metricsArgs" -}}
{{- $metrics := .root.Values.metrics -}}
{{- $args := list -}}
{{- if $metrics.textfile.enabled -}}
{{- $args = concat $args (list "--metrics-file" (printf "%s/%s-%s.prom" $metrics.textfile.mountPath (include "secrets-toolkit.fullname" .root) .file)) -}}
{{- end -}}
{{- if $metrics.pushgateway.url -}}
{{- $args = concat $args (list "--pushgateway" $metrics.pushgateway.url) -}}
{{- end -}}
{{- if $metrics.withNames -}}
{{- $args = append $args "--metrics-with-names" -}}
{{- end -}}
{{- toJson $args -}}
{{- end -}}

{{/*
One CronJob. Arguments: (dict "root" $ "job" "verify-regions" "name" "<cronjob name suffix>"
"schedule" "…" "args" (list …) "kube" true|false "snapshots" ""|"rw"|"ro").
*/}}
{{- define "secrets-toolkit.cronJob" -}}
{{- $root := .root -}}
{{- $jobs := $root.Values.jobs -}}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ printf "%s-%s" (include "secrets-toolkit.fullname" $root) .name | trunc 52 | trimSuffix "-" }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "secrets-toolkit.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .job }}
spec:
  schedule: {{ .schedule | quote }}
  {{- with $jobs.timeZone }}
  timeZone: {{ . | quote }}
  {{- end }}
  concurrencyPolicy: {{ $jobs.concurrencyPolicy }}
  startingDeadlineSeconds: {{ $jobs.startingDeadlineSeconds }}
  successfulJobsHistoryLimit: {{ $jobs.successfulJobsHistoryLimit }}
  failedJobsHistoryLimit: {{ $jobs.failedJobsHistoryLimit }}
  jobTemplate:
    metadata:
      labels:
        {{- include "secrets-toolkit.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .job }}
    spec:
      backoffLimit: {{ $jobs.backoffLimit }}
      activeDeadlineSeconds: {{ $jobs.activeDeadlineSeconds }}
      # Exit 1 is a finding (drift, degraded): fail the Job at once. Exit 2 is an error and is
      # retried up to backoffLimit. A pod evicted or preempted does not count.
      podFailurePolicy:
        rules:
          - action: FailJob
            onExitCodes:
              containerName: secrets-toolkit
              operator: In
              values: [1]
          - action: Ignore
            onPodConditions:
              - type: DisruptionTarget
                status: "True"
      template:
        metadata:
          labels:
            {{- include "secrets-toolkit.selectorLabels" $root | nindent 12 }}
            app.kubernetes.io/component: {{ .job }}
            {{- with $jobs.podLabels }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          annotations:
            # A changed configuration shows in the next run's pod.
            checksum/config: {{ include "secrets-toolkit.configFile" $root | sha256sum }}
            {{- with $jobs.podAnnotations }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        spec:
          restartPolicy: Never
          serviceAccountName: {{ include "secrets-toolkit.serviceAccountName" (dict "root" $root "job" .job) }}
          # Only the jobs that read Kubernetes objects get the API token; Vault gets its own
          # audience-bound token below.
          automountServiceAccountToken: {{ .kube }}
          {{- with $root.Values.imagePullSecrets }}
          imagePullSecrets:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $jobs.priorityClassName }}
          priorityClassName: {{ . }}
          {{- end }}
          securityContext:
            {{- toYaml $root.Values.podSecurityContext | nindent 12 }}
          {{- with $jobs.nodeSelector }}
          nodeSelector:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $jobs.tolerations }}
          tolerations:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $jobs.affinity }}
          affinity:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          containers:
            - name: secrets-toolkit
              image: {{ include "secrets-toolkit.image" $root | quote }}
              imagePullPolicy: {{ $root.Values.image.pullPolicy }}
              command: ["secrets"]
              args:
                {{- concat .args (include "secrets-toolkit.metricsArgs" (dict "root" $root "file" .name) | fromJsonArray) | toYaml | nindent 16 }}
              env:
                - name: SECRETS_TOOLKIT_CONFIG
                  value: /etc/secrets-toolkit/secrets-toolkit.yaml
                # The root filesystem is read-only: anything a tool caches goes to /tmp.
                - name: HOME
                  value: /tmp
                - name: TMPDIR
                  value: /tmp
                - name: SECRETS_SKIP_NEW_VERSION_CHECK
                  value: "true"
                - name: NO_COLOR
                  value: "1"
                {{- with $root.Values.env }}
                {{- toYaml . | nindent 16 }}
                {{- end }}
              {{- with $root.Values.envFrom }}
              envFrom:
                {{- toYaml . | nindent 16 }}
              {{- end }}
              securityContext:
                {{- toYaml $root.Values.securityContext | nindent 16 }}
              resources:
                {{- toYaml $jobs.resources | nindent 16 }}
              volumeMounts:
                - name: config
                  mountPath: /etc/secrets-toolkit
                  readOnly: true
                - name: vault-token
                  mountPath: {{ dir $root.Values.vaultAuth.tokenPath }}
                  readOnly: true
                - name: tmp
                  mountPath: /tmp
                {{- if .snapshots }}
                - name: snapshots
                  mountPath: {{ $root.Values.snapshot.mountPath }}
                  readOnly: {{ eq .snapshots "ro" }}
                {{- end }}
                {{- if $root.Values.metrics.textfile.enabled }}
                - name: metrics
                  mountPath: {{ $root.Values.metrics.textfile.mountPath }}
                {{- end }}
          volumes:
            - name: config
              configMap:
                name: {{ include "secrets-toolkit.configMapName" $root }}
            - name: vault-token
              projected:
                sources:
                  - serviceAccountToken:
                      audience: {{ $root.Values.vaultAuth.audience | quote }}
                      expirationSeconds: {{ $root.Values.vaultAuth.tokenExpirationSeconds }}
                      path: {{ base $root.Values.vaultAuth.tokenPath }}
            - name: tmp
              emptyDir:
                sizeLimit: 256Mi
            {{- if .snapshots }}
            - name: snapshots
              {{- if $root.Values.snapshot.persistence.enabled }}
              persistentVolumeClaim:
                claimName: {{ include "secrets-toolkit.snapshotClaimName" $root }}
                readOnly: {{ eq .snapshots "ro" }}
              {{- else if $root.Values.snapshot.volume }}
              {{- toYaml $root.Values.snapshot.volume | nindent 14 }}
              {{- else }}
              {{- fail "snapshot.persistence.enabled is false and snapshot.volume is empty: snapshots need somewhere that outlives the pod (a PVC, or a volume source such as nfs)" }}
              {{- end }}
            {{- end }}
            {{- if $root.Values.metrics.textfile.enabled }}
            - name: metrics
              {{- toYaml $root.Values.metrics.textfile.volume | nindent 14 }}
            {{- end }}
{{- end -}}
