// Command k8s-validate checks rendered Kubernetes manifests (the output of `helm template`)
// against the Go API types of one Kubernetes release, without any network access.
//
// Every YAML document is decoded strictly with the apimachinery serializer over a scheme built
// from k8s.io/api (the GA groups only) and the Prometheus Operator's monitoring/v1 types, so it
// refuses: unknown fields (a typo such as `readinesProbe` or a field at the wrong level),
// duplicate fields, values of the wrong type, unparsable quantities, and any apiVersion/kind
// the stated release does not serve (for example autoscaling/v2beta2 or policy/v1beta1). On top
// of the schema it checks the rules the API server would refuse at admission that a schema cannot
// express and that a chart can get wrong: names and labels, container names and images, ports,
// environment variable names, probes with exactly one handler, volume mounts naming a volume,
// requests not above limits, selectors that match the pod template, HPA bounds, PDB budgets.
// Across the documents of the input it checks the references a chart wires: Service and PDB
// selectors that match a pod template, Service target ports, HPA targets, Ingress backends, and
// the ConfigMaps pods use (Secrets may exist outside the input, so they are not required).
//
// Usage: k8s-validate [file ...]   (no file: read standard input). Exit status 1 on any error.
// The Kubernetes version is the one of the k8s.io/api module in go.mod (printed with -version).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

type adder func(*runtime.Scheme) error

// Only GA API groups: a chart must not depend on beta APIs that a later release removes.
var groups = []adder{
	admissionregistrationv1.AddToScheme, appsv1.AddToScheme, autoscalingv1.AddToScheme,
	autoscalingv2.AddToScheme, batchv1.AddToScheme, certificatesv1.AddToScheme,
	coordinationv1.AddToScheme, corev1.AddToScheme, discoveryv1.AddToScheme,
	eventsv1.AddToScheme, networkingv1.AddToScheme, nodev1.AddToScheme, policyv1.AddToScheme,
	rbacv1.AddToScheme, schedulingv1.AddToScheme, storagev1.AddToScheme,
	monitoringv1.AddToScheme,
}

func main() {
	showVersion := flag.Bool("version", false, "print the Kubernetes API version validated against")
	flag.Parse()
	if *showVersion {
		fmt.Println(kubeVersion())
		return
	}
	scheme := runtime.NewScheme()
	for _, add := range groups {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, "k8s-validate: scheme:", err)
			os.Exit(2)
		}
	}
	codec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})

	inputs := flag.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	var problems []string
	var objects []decoded
	counts := map[string]int{}
	total := 0
	for _, name := range inputs {
		data, err := readInput(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-validate:", err)
			os.Exit(2)
		}
		reader := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for index := 0; ; index++ {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: document %d: %v", name, index, err))
				break
			}
			if isEmpty(doc) {
				continue
			}
			total++
			where := fmt.Sprintf("%s: document %d (%s)", name, index, source(doc))
			obj, gvk, err := codec.Decode(doc, nil, nil)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			where = fmt.Sprintf("%s %s/%s", where, gvk.Kind, nameOf(obj))
			counts[gvk.Kind]++
			objects = append(objects, decoded{where: where, obj: obj})
			for _, problem := range check(obj) {
				problems = append(problems, fmt.Sprintf("%s: %s", where, problem))
			}
		}
	}
	problems = append(problems, crossCheck(objects)...)
	if len(problems) > 0 {
		for _, problem := range problems {
			fmt.Fprintln(os.Stderr, "invalid:", problem)
		}
		fmt.Fprintf(os.Stderr, "k8s-validate: %d problem(s) in %d document(s) against Kubernetes %s\n",
			len(problems), total, kubeVersion())
		os.Exit(1)
	}
	kinds := make([]string, 0, len(counts))
	for kind, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s=%d", kind, n))
	}
	sort.Strings(kinds)
	fmt.Printf("k8s-validate: %d document(s) valid against Kubernetes %s (%s)\n",
		total, kubeVersion(), strings.Join(kinds, " "))
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// isEmpty is true for documents holding only comments or whitespace (helm emits those for
// templates whose condition is false).
func isEmpty(doc []byte) bool {
	j, err := yaml.YAMLToJSON(doc)
	return err == nil && (len(bytes.TrimSpace(j)) == 0 || string(bytes.TrimSpace(j)) == "null")
}

// source returns the `# Source:` comment helm writes above each document, if any.
func source(doc []byte) string {
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "# Source: ") {
			return strings.TrimPrefix(line, "# Source: ")
		}
	}
	return "no source comment"
}

func kubeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, dep := range info.Deps {
			if dep.Path == "k8s.io/api" {
				// k8s.io/api v0.X.Y is released with Kubernetes 1.X.Y.
				return "1." + strings.TrimPrefix(dep.Version, "v0.")
			}
		}
	}
	return "unknown"
}

func nameOf(obj runtime.Object) string {
	if accessor, ok := obj.(metav1.Object); ok {
		return accessor.GetName()
	}
	return "?"
}

func check(obj runtime.Object) []string {
	var p problems
	if accessor, ok := obj.(metav1.Object); ok {
		p.meta(accessor, obj)
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		p.selector("spec.selector", o.Spec.Selector, o.Spec.Template.Labels)
		p.podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *appsv1.StatefulSet:
		p.selector("spec.selector", o.Spec.Selector, o.Spec.Template.Labels)
		p.podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *appsv1.DaemonSet:
		p.selector("spec.selector", o.Spec.Selector, o.Spec.Template.Labels)
		p.podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *batchv1.Job:
		p.podSpec("spec.template.spec", &o.Spec.Template.Spec)
	case *corev1.Pod:
		p.podSpec("spec", &o.Spec)
	case *corev1.Service:
		p.service(o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		p.hpa(o)
	case *policyv1.PodDisruptionBudget:
		if o.Spec.Selector == nil || (len(o.Spec.Selector.MatchLabels) == 0 && len(o.Spec.Selector.MatchExpressions) == 0) {
			p.add("spec.selector: required (an empty selector selects every pod of the namespace)")
		}
		if (o.Spec.MinAvailable == nil) == (o.Spec.MaxUnavailable == nil) {
			p.add("spec: exactly one of minAvailable and maxUnavailable must be set")
		}
	case *networkingv1.Ingress:
		p.ingress(o)
	case *corev1.ConfigMap:
		for key := range o.Data {
			p.configKey("data", key)
		}
	case *corev1.Secret:
		for key := range o.Data {
			p.configKey("data", key)
		}
		for key := range o.StringData {
			p.configKey("stringData", key)
		}
	case *monitoringv1.ServiceMonitor:
		if len(o.Spec.Endpoints) == 0 {
			p.add("spec.endpoints: required")
		}
	}
	return p
}

type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p *problems) errs(field string, errs []string) {
	for _, e := range errs {
		p.add("%s: %s", field, e)
	}
}

func (p *problems) meta(m metav1.Object, obj runtime.Object) {
	if m.GetName() == "" {
		p.add("metadata.name: required")
	} else if _, isService := obj.(*corev1.Service); isService {
		p.errs("metadata.name", validation.IsDNS1035Label(m.GetName()))
	} else {
		p.errs("metadata.name", validation.IsDNS1123Subdomain(m.GetName()))
	}
	p.labels("metadata.labels", m.GetLabels())
	for key := range m.GetAnnotations() {
		p.errs("metadata.annotations["+key+"]", validation.IsQualifiedName(strings.ToLower(key)))
	}
}

func (p *problems) labels(field string, set map[string]string) {
	for key, value := range set {
		p.errs(field+"["+key+"]", validation.IsQualifiedName(key))
		p.errs(field+"["+key+"]", validation.IsValidLabelValue(value))
	}
}

func (p *problems) configKey(field, key string) {
	p.errs(field+"["+key+"]", validation.IsConfigMapKey(key))
}

func (p *problems) selector(field string, selector *metav1.LabelSelector, podLabels map[string]string) {
	if selector == nil {
		p.add("%s: required", field)
		return
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		p.add("%s: %v", field, err)
		return
	}
	if s.Empty() {
		p.add("%s: empty selector", field)
	}
	if !s.Matches(labels.Set(podLabels)) {
		p.add("%s: does not match the pod template labels %v", field, podLabels)
	}
	p.labels("spec.template.metadata.labels", podLabels)
}

func (p *problems) podSpec(field string, spec *corev1.PodSpec) {
	if len(spec.Containers) == 0 {
		p.add("%s.containers: at least one container is required", field)
	}
	volumes := map[string]bool{}
	for i, v := range spec.Volumes {
		if volumes[v.Name] {
			p.add("%s.volumes[%d].name: duplicate %q", field, i, v.Name)
		}
		volumes[v.Name] = true
		p.errs(fmt.Sprintf("%s.volumes[%d].name", field, i), validation.IsDNS1123Label(v.Name))
	}
	names := map[string]bool{}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i := range all {
		c := &all[i]
		where := fmt.Sprintf("%s.containers[%s]", field, c.Name)
		if names[c.Name] {
			p.add("%s: duplicate container name", where)
		}
		names[c.Name] = true
		p.errs(where+".name", validation.IsDNS1123Label(c.Name))
		if strings.TrimSpace(c.Image) == "" {
			p.add("%s.image: required", where)
		}
		ports := map[string]bool{}
		for _, port := range c.Ports {
			p.errs(where+".ports.containerPort", validation.IsValidPortNum(int(port.ContainerPort)))
			if port.Name != "" {
				p.errs(where+".ports.name", validation.IsValidPortName(port.Name))
				if ports[port.Name] {
					p.add("%s.ports: duplicate port name %q", where, port.Name)
				}
				ports[port.Name] = true
			}
		}
		for _, env := range c.Env {
			p.errs(where+".env["+env.Name+"]", validation.IsEnvVarName(env.Name))
			if env.Value != "" && env.ValueFrom != nil {
				p.add("%s.env[%s]: value and valueFrom are exclusive", where, env.Name)
			}
		}
		for _, mount := range c.VolumeMounts {
			if !volumes[mount.Name] {
				p.add("%s.volumeMounts[%s]: no volume of that name", where, mount.Name)
			}
		}
		p.probe(where+".readinessProbe", c.ReadinessProbe, ports)
		p.probe(where+".livenessProbe", c.LivenessProbe, ports)
		p.probe(where+".startupProbe", c.StartupProbe, ports)
		for resource, limit := range c.Resources.Limits {
			if request, ok := c.Resources.Requests[resource]; ok && request.Cmp(limit) > 0 {
				p.add("%s.resources: %s request %s above limit %s", where, resource, request.String(), limit.String())
			}
		}
	}
}

func (p *problems) probe(field string, probe *corev1.Probe, ports map[string]bool) {
	if probe == nil {
		return
	}
	handlers := 0
	if probe.Exec != nil {
		handlers++
	}
	if probe.HTTPGet != nil {
		handlers++
		if probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
			p.add("%s.httpGet.port: no container port named %q", field, probe.HTTPGet.Port.StrVal)
		}
	}
	if probe.TCPSocket != nil {
		handlers++
	}
	if probe.GRPC != nil {
		handlers++
	}
	if handlers != 1 {
		p.add("%s: exactly one handler must be set, found %d", field, handlers)
	}
}

func (p *problems) service(s *corev1.Service) {
	if s.Spec.Type != corev1.ServiceTypeExternalName && len(s.Spec.Ports) == 0 {
		p.add("spec.ports: at least one port is required")
	}
	for _, port := range s.Spec.Ports {
		p.errs("spec.ports.port", validation.IsValidPortNum(int(port.Port)))
		if port.TargetPort.StrVal != "" {
			p.errs("spec.ports.targetPort", validation.IsValidPortName(port.TargetPort.StrVal))
		}
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			p.add("spec.ports: every port must be named when there are several")
		}
	}
	p.labels("spec.selector", s.Spec.Selector)
}

func (p *problems) hpa(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec.ScaleTargetRef.Kind == "" || h.Spec.ScaleTargetRef.Name == "" {
		p.add("spec.scaleTargetRef: kind and name are required")
	}
	if h.Spec.MaxReplicas < 1 {
		p.add("spec.maxReplicas: must be at least 1")
	}
	if h.Spec.MinReplicas != nil && (*h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas) {
		p.add("spec.minReplicas: must be between 1 and maxReplicas")
	}
	if len(h.Spec.Metrics) == 0 {
		p.add("spec.metrics: at least one metric is required")
	}
	for i, m := range h.Spec.Metrics {
		set := 0
		for _, present := range []bool{m.Resource != nil, m.Pods != nil, m.Object != nil, m.External != nil, m.ContainerResource != nil} {
			if present {
				set++
			}
		}
		if set != 1 {
			p.add("spec.metrics[%d]: exactly one source must match type %q", i, m.Type)
		}
	}
}

func (p *problems) ingress(in *networkingv1.Ingress) {
	for _, rule := range in.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, path := range rule.HTTP.Paths {
			if path.PathType == nil {
				p.add("spec.rules.http.paths[%s].pathType: required", path.Path)
			}
			if path.Backend.Service == nil && path.Backend.Resource == nil {
				p.add("spec.rules.http.paths[%s].backend: a service or resource is required", path.Path)
			}
			if s := path.Backend.Service; s != nil && s.Port.Name == "" && s.Port.Number == 0 {
				p.add("spec.rules.http.paths[%s].backend.service.port: name or number required", path.Path)
			}
		}
	}
}

type decoded struct {
	where string
	obj   runtime.Object
}

type workload struct {
	kind, name string
	labels     labels.Set
	ports      map[string]bool
}

// crossCheck verifies the references between the objects of one input (a chart's output): every
// Service selects some pod template and targets a port it declares, every HPA scales a workload of
// the input, every PDB selects some pod template, every Ingress backend is a Service of the input
// with that port, and every ConfigMap a pod template uses (envFrom, volumes, key refs) is there.
// Secrets may come from outside the chart (an existing Secret), so they are not required.
func crossCheck(objects []decoded) []string {
	var out []string
	var workloads []workload
	services := map[string]*corev1.Service{}
	configMaps := map[string]bool{}
	for _, d := range objects {
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			workloads = append(workloads, newWorkload("Deployment", o.Name, o.Spec.Template))
		case *appsv1.StatefulSet:
			workloads = append(workloads, newWorkload("StatefulSet", o.Name, o.Spec.Template))
		case *appsv1.DaemonSet:
			workloads = append(workloads, newWorkload("DaemonSet", o.Name, o.Spec.Template))
		case *corev1.Service:
			services[o.Name] = o
		case *corev1.ConfigMap:
			configMaps[o.Name] = true
		}
	}
	selects := func(selector labels.Selector) []workload {
		var found []workload
		for _, w := range workloads {
			if selector.Matches(w.labels) {
				found = append(found, w)
			}
		}
		return found
	}
	for _, d := range objects {
		switch o := d.obj.(type) {
		case *corev1.Service:
			if len(o.Spec.Selector) == 0 {
				continue
			}
			selected := selects(labels.SelectorFromSet(o.Spec.Selector))
			if len(selected) == 0 {
				out = append(out, fmt.Sprintf("%s: spec.selector matches no pod template of the input", d.where))
			}
			for _, port := range o.Spec.Ports {
				name := port.TargetPort.StrVal
				for _, w := range selected {
					if name != "" && !w.ports[name] {
						out = append(out, fmt.Sprintf("%s: targetPort %q is not a port of %s/%s", d.where, name, w.kind, w.name))
					}
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := o.Spec.ScaleTargetRef
			found := false
			for _, w := range workloads {
				found = found || (w.kind == ref.Kind && w.name == ref.Name)
			}
			if !found {
				out = append(out, fmt.Sprintf("%s: scaleTargetRef %s/%s is not in the input", d.where, ref.Kind, ref.Name))
			}
		case *policyv1.PodDisruptionBudget:
			if o.Spec.Selector == nil {
				continue
			}
			if s, err := metav1.LabelSelectorAsSelector(o.Spec.Selector); err == nil && len(selects(s)) == 0 {
				out = append(out, fmt.Sprintf("%s: spec.selector matches no pod template of the input", d.where))
			}
		case *networkingv1.Ingress:
			for _, rule := range o.Spec.Rules {
				if rule.HTTP == nil {
					continue
				}
				for _, path := range rule.HTTP.Paths {
					backend := path.Backend.Service
					if backend == nil {
						continue
					}
					svc, ok := services[backend.Name]
					if !ok {
						out = append(out, fmt.Sprintf("%s: backend Service %q is not in the input", d.where, backend.Name))
						continue
					}
					matched := false
					for _, port := range svc.Spec.Ports {
						matched = matched || (backend.Port.Name != "" && port.Name == backend.Port.Name) ||
							(backend.Port.Number != 0 && port.Port == backend.Port.Number)
					}
					if !matched {
						out = append(out, fmt.Sprintf("%s: Service %q has no port %v", d.where, backend.Name, backend.Port))
					}
				}
			}
		}
		if pod := podTemplate(d.obj); pod != nil {
			for _, name := range configMapRefs(pod) {
				if !configMaps[name] {
					out = append(out, fmt.Sprintf("%s: ConfigMap %q is not in the input", d.where, name))
				}
			}
		}
	}
	return out
}

func newWorkload(kind, name string, template corev1.PodTemplateSpec) workload {
	ports := map[string]bool{}
	for _, c := range template.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name != "" {
				ports[p.Name] = true
			}
		}
	}
	return workload{kind: kind, name: name, labels: labels.Set(template.Labels), ports: ports}
}

func podTemplate(obj runtime.Object) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	case *corev1.Pod:
		return &o.Spec
	}
	return nil
}

// configMapRefs lists the ConfigMaps a pod needs (optional references excluded).
func configMapRefs(pod *corev1.PodSpec) []string {
	var names []string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
			names = append(names, v.ConfigMap.Name)
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef != nil && (from.ConfigMapRef.Optional == nil || !*from.ConfigMapRef.Optional) {
				names = append(names, from.ConfigMapRef.Name)
			}
		}
		for _, env := range c.Env {
			if ref := env.ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil &&
				(ref.ConfigMapKeyRef.Optional == nil || !*ref.ConfigMapKeyRef.Optional) {
				names = append(names, ref.ConfigMapKeyRef.Name)
			}
		}
	}
	return names
}
