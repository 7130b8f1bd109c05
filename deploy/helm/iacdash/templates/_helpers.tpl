{{/* Release-scoped name: the release name, or RELEASE-iacdash when it does not contain the chart name. */}}
{{- define "iacdash.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "iacdash.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "iacdash.labels" -}}
{{ include "iacdash.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "iacdash.bundleConfigMap" -}}
{{- if .Values.bundle.existingConfigMap -}}{{ .Values.bundle.existingConfigMap }}{{- else -}}{{ include "iacdash.fullname" . }}-bundle{{- end -}}
{{- end -}}

{{- define "iacdash.luaConfigMap" -}}
{{- if .Values.lua.existingConfigMap -}}{{ .Values.lua.existingConfigMap }}{{- else -}}{{ include "iacdash.fullname" . }}-lua{{- end -}}
{{- end -}}

{{/* Fails the render on values iacdash cannot serve. */}}
{{- define "iacdash.check" -}}
{{- if not (has .Values.mode (list "shared" "sidecar")) -}}
{{- fail (printf "mode must be shared or sidecar, got %q" .Values.mode) -}}
{{- end -}}
{{- if .Values.bundle.url -}}
{{- fail "bundle.url: fetching the bundle from a URL is not supported by iacdash yet; use bundle.file or bundle.existingConfigMap" -}}
{{- end -}}
{{- if and .Values.tls.enabled (eq .Values.mode "sidecar") -}}
{{- fail "tls.enabled: in sidecar mode gRPC listens on 127.0.0.1 for the pod's istio-proxy only; TLS is for the shared mode" -}}
{{- end -}}
{{- if and .Values.tls.certificate.create (not .Values.tls.enabled) -}}
{{- fail "tls.certificate.create: needs tls.enabled=true" -}}
{{- end -}}
{{- if and (not .Values.bundle.file) (not .Values.bundle.existingConfigMap) -}}
{{- fail "bundle: set bundle.file (--set-file bundle.file=build/policies.tar.gz) or bundle.existingConfigMap" -}}
{{- end -}}
{{- end -}}

{{/* iacdash.yaml: the user's config with the listeners and bundle path the chart mounts. In sidecar mode gRPC listens on loopback only. */}}
{{- define "iacdash.config" -}}
{{- $grpcHost := ternary "127.0.0.1" "" (eq .Values.mode "sidecar") -}}
{{- $server := dict "addr" (printf "%s:%v" $grpcHost .Values.ports.grpc) "http_addr" (printf ":%v" .Values.ports.http) -}}
{{- with .Values.tls }}{{ if .enabled -}}
{{- $tls := dict "cert_file" (printf "%s/tls.crt" .mountPath) "key_file" (printf "%s/tls.key" .mountPath) "poll_interval_ms" .pollIntervalMs -}}
{{- if .requireClientCert }}{{ $_ := set $tls "client_ca_file" (printf "%s/ca.crt" .mountPath) }}{{ end -}}
{{- $_ := set $server "tls" $tls -}}
{{- end }}{{ end -}}
{{- $fixed := dict
  "server" $server
  "bundle" (dict "path" (printf "/etc/iacdash/bundle/%s" .Values.bundle.key)) -}}
{{- $config := mergeOverwrite (deepCopy .Values.config) $fixed -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The iacdash container, shared by both modes. */}}
{{- define "iacdash.container" -}}
- name: iacdash
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["serve", "--config", "/etc/iacdash/iacdash.yaml"]
  ports:
    - name: grpc
      containerPort: {{ .Values.ports.grpc }}
      protocol: TCP
    - name: http
      containerPort: {{ .Values.ports.http }}
      protocol: TCP
  livenessProbe:
    httpGet: { path: /health, port: http }
    periodSeconds: 10
  readinessProbe:
    httpGet: { path: /ready, port: http }
    periodSeconds: 5
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities: { drop: [ALL] }
  volumeMounts:
    - { name: iacdash-config, mountPath: /etc/iacdash/iacdash.yaml, subPath: iacdash.yaml, readOnly: true }
    - { name: iacdash-bundle, mountPath: /etc/iacdash/bundle, readOnly: true }
    - { name: iacdash-lua, mountPath: /etc/iacdash/lua, readOnly: true }
    {{- if .Values.tls.enabled }}
    - { name: iacdash-tls, mountPath: {{ .Values.tls.mountPath }}, readOnly: true }
    {{- end }}
{{- end -}}

{{- define "iacdash.volumes" -}}
- name: iacdash-config
  configMap: { name: {{ include "iacdash.fullname" . }}-config }
- name: iacdash-bundle
  configMap: { name: {{ include "iacdash.bundleConfigMap" . }} }
- name: iacdash-lua
  configMap: { name: {{ include "iacdash.luaConfigMap" . }}, optional: true }
{{- if .Values.tls.enabled }}
- name: iacdash-tls
  secret: { secretName: {{ .Values.tls.secretName }} }
{{- end }}
{{- end -}}
