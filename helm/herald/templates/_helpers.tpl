{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources; components append "-<role>". */}}
{{- define "herald.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "herald.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "herald.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: {{ include "herald.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The roles, in one place: values key, role name (resource suffix and label) and entry point in the
image (the same file `npm run start:<role>` runs). Used by every per-role template.
*/}}
{{- define "herald.components" -}}
- key: api
  role: api
  main: dist/apps/api/src/main.js
- key: gateway
  role: gateway
  main: dist/apps/gateway/src/main.js
- key: pushDispatcher
  role: push-dispatcher
  main: dist/apps/push-dispatcher/src/main.js
- key: webhookDispatcher
  role: webhook-dispatcher
  main: dist/apps/webhook-dispatcher/src/main.js
{{- end }}

{{- define "herald.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "herald.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "herald.secretName" -}}
{{- default (include "herald.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "herald.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Grace period: preStop sleep + drain window + 15 s for flushing and closing; refuses less. */}}
{{- define "herald.gracePeriod" -}}
{{- $c := .component -}}
{{- $minimum := add $c.preStopSleepSeconds .root.Values.config.drainSeconds 5 -}}
{{- if kindIs "invalid" $c.terminationGracePeriodSeconds -}}
{{- add $c.preStopSleepSeconds .root.Values.config.drainSeconds 15 -}}
{{- else if lt (int $c.terminationGracePeriodSeconds) (int $minimum) -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + config.drainSeconds + 5 = %d, or the kubelet kills the process mid-drain" .key $c.terminationGracePeriodSeconds $minimum) -}}
{{- else -}}
{{- $c.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end }}
