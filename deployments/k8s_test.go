package deployments

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/stickerd/stickerd/internal/queue"
)

const k8sDir = "k8s"

// manifests is every object under deployments/k8s, decoded strictly into
// its typed Go struct.
type manifests struct {
	objects        []runtime.Object
	deployments    []*appsv1.Deployment
	statefulSets   []*appsv1.StatefulSet
	services       []*corev1.Service
	configMaps     []*corev1.ConfigMap
	pvcs           []*corev1.PersistentVolumeClaim
	pdbs           []*policyv1.PodDisruptionBudget
	hpas           []*autoscalingv2.HorizontalPodAutoscaler
	jobs           []*batchv1.Job
	namespaces     []*corev1.Namespace
	kustomizations map[string]kustomization // by folder
	files          map[string][]string      // manifest files by folder
	perDir         map[string]int           // objects by folder
}

// kustomization is the part of kustomization.yaml these manifests use;
// decoding it strictly rejects anything else, so a new field is a
// deliberate change here too.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{kustomizations: map[string]kustomization{}, files: map[string][]string{}, perDir: map[string]int{}}
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	err := filepath.WalkDir(k8sDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return fmt.Errorf("%s: only YAML belongs under %s", path, k8sDir)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		if d.Name() == "kustomization.yaml" {
			var k kustomization
			if err := yaml.UnmarshalStrict(data, &k); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			m.kustomizations[dir] = k
			return nil
		}
		m.files[dir] = append(m.files[dir], d.Name())
		r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for n := 1; ; n++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: document %d: %w", path, n, err)
			}
			if onlyComments(doc) {
				continue
			}
			obj, _, err := strict.Decode(doc, nil, nil)
			if err != nil {
				return fmt.Errorf("%s: document %d: %w", path, n, err)
			}
			if err := m.add(obj); err != nil {
				return fmt.Errorf("%s: document %d: %w", path, n, err)
			}
			m.perDir[dir]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func onlyComments(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}

func (m *manifests) add(obj runtime.Object) error {
	m.objects = append(m.objects, obj)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		m.deployments = append(m.deployments, o)
	case *appsv1.StatefulSet:
		m.statefulSets = append(m.statefulSets, o)
	case *corev1.Service:
		m.services = append(m.services, o)
	case *corev1.ConfigMap:
		m.configMaps = append(m.configMaps, o)
	case *corev1.PersistentVolumeClaim:
		m.pvcs = append(m.pvcs, o)
	case *policyv1.PodDisruptionBudget:
		m.pdbs = append(m.pdbs, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		m.hpas = append(m.hpas, o)
	case *batchv1.Job:
		m.jobs = append(m.jobs, o)
	case *corev1.Namespace:
		m.namespaces = append(m.namespaces, o)
	default:
		return fmt.Errorf("unexpected kind %T; teach the test about it", obj)
	}
	return nil
}

// workload is a Deployment or StatefulSet, seen through its pod template.
type workload struct {
	kind, name string
	replicas   int32
	selector   *metav1.LabelSelector
	template   corev1.PodTemplateSpec
}

func (m *manifests) workloads() []workload {
	var out []workload
	for _, d := range m.deployments {
		out = append(out, workload{"Deployment", d.Name, ptrOr(d.Spec.Replicas, 1), d.Spec.Selector, d.Spec.Template})
	}
	for _, s := range m.statefulSets {
		out = append(out, workload{"StatefulSet", s.Name, ptrOr(s.Spec.Replicas, 1), s.Spec.Selector, s.Spec.Template})
	}
	return out
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// selecting returns the workloads whose pods the selector matches.
func (m *manifests) selecting(sel labels.Selector) []workload {
	var out []workload
	for _, w := range m.workloads() {
		if sel.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func isStickerd(c corev1.Container) bool { return strings.HasPrefix(c.Image, "stickerd/stickerd") }

func envValue(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// containerPort resolves a probe's or Service's port (a number or a name)
// against a container's ports.
func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// etcdMembers returns the client endpoint of every member of the etcd
// StatefulSet (member-N.service:port) and checks its peer settings.
func (m *manifests) etcdMembers(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, s := range m.statefulSets {
		c := s.Spec.Template.Spec.Containers[0]
		if !strings.Contains(c.Image, "etcd") {
			continue
		}
		svc := m.service(s.Spec.ServiceName)
		if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
			t.Errorf("StatefulSet %s: serviceName %q is not a headless Service publishing not-ready members", s.Name, s.Spec.ServiceName)
		}
		var peers []string
		for i := range ptrOr(s.Spec.Replicas, 1) {
			member := fmt.Sprintf("%s-%d", s.Name, i)
			out = append(out, fmt.Sprintf("https://%s.%s:2379", member, s.Spec.ServiceName))
			peers = append(peers, fmt.Sprintf("%s=https://%s.%s:2380", member, member, s.Spec.ServiceName))
		}
		var cluster string
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--initial-cluster="); ok {
				cluster = v
			}
		}
		if !sameSet(splitList(cluster), peers) {
			t.Errorf("StatefulSet %s: --initial-cluster=%q, want its %d members %v", s.Name, cluster, len(peers), peers)
		}
		if len(s.Spec.VolumeClaimTemplates) == 0 {
			t.Errorf("StatefulSet %s: no volumeClaimTemplates; each member needs its own volume", s.Name)
		}
	}
	if len(out) != 3 && len(out) != 5 {
		t.Fatalf("want an etcd StatefulSet of 3 (or 5) members, found %v", out)
	}
	return out
}

func (m *manifests) service(name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestK8s_Kustomizations(t *testing.T) {
	m := loadManifests(t)
	if _, ok := m.kustomizations[k8sDir]; !ok {
		t.Fatalf("no %s/kustomization.yaml", k8sDir)
	}
	for dir, files := range m.files {
		k, ok := m.kustomizations[dir]
		if !ok {
			t.Errorf("%s has manifests but no kustomization.yaml", dir)
			continue
		}
		if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
			t.Errorf("%s/kustomization.yaml: %s %s", dir, k.APIVersion, k.Kind)
		}
		for _, f := range files {
			if !slices.Contains(k.Resources, f) {
				t.Errorf("%s/%s is not listed in its kustomization.yaml", dir, f)
			}
		}
		for _, r := range k.Resources {
			if !slices.Contains(files, r) {
				t.Errorf("%s/kustomization.yaml lists %s, which is not a manifest there", dir, r)
			}
		}
	}
	root := m.kustomizations[k8sDir]
	if !slices.ContainsFunc(m.namespaces, func(n *corev1.Namespace) bool { return n.Name == root.Namespace }) {
		t.Errorf("kustomization namespace %q has no Namespace manifest", root.Namespace)
	}
	var images []string
	for _, im := range root.Images {
		images = append(images, im.Name)
	}
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			if isStickerd(c) && !slices.Contains(images, c.Image) {
				t.Errorf("%s %s: image %q has no entry under images: in kustomization.yaml", w.kind, w.name, c.Image)
			}
		}
	}
}

func TestK8s_ProbesResourcesSecurity(t *testing.T) {
	m := loadManifests(t)
	for _, w := range m.workloads() {
		spec := w.template.Spec
		psc := spec.SecurityContext
		for _, c := range spec.Containers {
			where := fmt.Sprintf("%s %s container %s", w.kind, w.name, c.Name)
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				t.Errorf("%s: needs both a readiness and a liveness probe", where)
				continue
			}
			if isStickerd(c) {
				http, _ := envValue(c, "STICKERD_HTTP_ADDR")
				for _, p := range []struct {
					kind  string
					probe *corev1.Probe
					path  string
				}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
					g := p.probe.HTTPGet
					if g == nil || g.Path != p.path {
						t.Errorf("%s: %s probe must GET %s", where, p.kind, p.path)
						continue
					}
					if port, ok := containerPort(c, g.Port); !ok || strconv.Itoa(int(port)) != portOf(http.Value) {
						t.Errorf("%s: %s probe port %s is not STICKERD_HTTP_ADDR=%q", where, p.kind, g.Port.String(), http.Value)
					}
				}
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: needs CPU and memory requests and a memory limit", where)
			}
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: must drop ALL capabilities and disallow privilege escalation", where)
			}
			nonRoot := (psc != nil && ptrOr(psc.RunAsNonRoot, false)) || (sc != nil && ptrOr(sc.RunAsNonRoot, false))
			if !nonRoot {
				t.Errorf("%s: must run as non-root", where)
			}
			if isStickerd(c) && (sc == nil || !ptrOr(sc.ReadOnlyRootFilesystem, false)) {
				t.Errorf("%s: stickerd runs with a read-only root file system", where)
			}
		}
	}
}

func TestK8s_Wiring(t *testing.T) {
	m := loadManifests(t)
	etcd := m.etcdMembers(t)
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			if !isStickerd(c) {
				continue
			}
			where := fmt.Sprintf("%s %s", w.kind, w.name)
			if len(c.Args) == 0 {
				t.Errorf("%s: names no stickerd subcommand in args", where)
				continue
			}
			roleName := c.Args[0]
			r := roles[roleName]
			var names []string
			for _, e := range c.Env {
				names = append(names, e.Name)
			}
			checkEnvNames(t, where, roleName, names)
			if e, _ := envValue(c, "STICKERD_ETCD_ENDPOINTS"); r.etcd && !sameSet(splitList(e.Value), etcd) {
				t.Errorf("%s: STICKERD_ETCD_ENDPOINTS=%q, want every member %v", where, e.Value, etcd)
			}
			if r.kafka {
				m.checkKafkaRef(t, where, c)
			}
			if r.schedulers {
				m.checkSchedulers(t, where, c)
			}
			if r.blobs {
				m.checkBlobStore(t, where, c)
			}
		}
	}
	for _, pvc := range m.pvcs {
		if strings.Contains(pvc.Name, "blob") {
			t.Errorf("PVC %s: the blob store is an S3 bucket (ConfigMap stickerd-blobstore), not a shared volume", pvc.Name)
		}
	}
}

// checkBlobStore: a container that reads or writes blobs takes the S3
// settings from the ConfigMap stickerd-blobstore and the credentials from
// the Secret stickerd-s3-credentials (optional: a pod role does without),
// and mounts no blob volume.
func (m *manifests) checkBlobStore(t *testing.T, where string, c corev1.Container) {
	t.Helper()
	var cm, secret bool
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == "stickerd-blobstore":
			cm = true
		case ef.SecretRef != nil && ef.SecretRef.Name == "stickerd-s3-credentials":
			secret = true
		}
	}
	if !cm || !secret {
		t.Errorf("%s: takes the blob store from envFrom ConfigMap stickerd-blobstore (%v) and Secret stickerd-s3-credentials (%v)", where, cm, secret)
	}
	for _, vm := range c.VolumeMounts {
		if strings.HasSuffix(vm.MountPath, "/blobs") {
			t.Errorf("%s: mounts %s at %s; the blob store is the S3 bucket", where, vm.Name, vm.MountPath)
		}
	}
	conf := m.configMap("stickerd-blobstore")
	if conf == nil {
		t.Fatalf("no ConfigMap stickerd-blobstore")
	}
	var keys []string
	for k := range conf.Data {
		keys = append(keys, k)
	}
	checkEnvNames(t, "ConfigMap stickerd-blobstore", "gateway", keys)
	if u := conf.Data["STICKERD_BLOB_URL"]; !strings.HasPrefix(u, "s3://") {
		t.Errorf("ConfigMap stickerd-blobstore: STICKERD_BLOB_URL=%q, want s3://BUCKET", u)
	}
}

func (m *manifests) checkKafkaRef(t *testing.T, where string, c corev1.Container) {
	t.Helper()
	e, ok := envValue(c, "STICKERD_KAFKA_BROKERS")
	if !ok || e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
		t.Errorf("%s: STICKERD_KAFKA_BROKERS must come from the Kafka ConfigMap", where)
		return
	}
	ref := e.ValueFrom.ConfigMapKeyRef
	if cm := m.configMap(ref.Name); cm == nil || cm.Data[ref.Key] == "" {
		t.Errorf("%s: STICKERD_KAFKA_BROKERS refers to ConfigMap %s key %s, which does not exist", where, ref.Name, ref.Key)
	}
}

// checkSchedulers checks that STICKERD_SCHEDULERS names a Service port that
// reaches the scheduler pods' gRPC listener.
func (m *manifests) checkSchedulers(t *testing.T, where string, c corev1.Container) {
	t.Helper()
	e, _ := envValue(c, "STICKERD_SCHEDULERS")
	addrs := splitList(e.Value)
	if len(addrs) == 0 {
		t.Errorf("%s: no STICKERD_SCHEDULERS", where)
	}
	for _, addr := range addrs {
		host, port, _ := strings.Cut(addr, ":")
		svc := m.service(host)
		if svc == nil {
			t.Errorf("%s: scheduler address %s is no Service", where, addr)
			continue
		}
		var sp *corev1.ServicePort
		for i := range svc.Spec.Ports {
			if strconv.Itoa(int(svc.Spec.Ports[i].Port)) == port {
				sp = &svc.Spec.Ports[i]
			}
		}
		if sp == nil {
			t.Errorf("%s: Service %s has no port %s", where, host, port)
			continue
		}
		pods := m.selecting(labels.SelectorFromSet(svc.Spec.Selector))
		if len(pods) == 0 {
			t.Errorf("%s: Service %s selects no pods", where, host)
		}
		for _, w := range pods {
			sc := w.template.Spec.Containers[0]
			grpc, _ := envValue(sc, "STICKERD_GRPC_ADDR")
			if len(sc.Args) == 0 || sc.Args[0] != "scheduler" {
				t.Errorf("%s: Service %s selects %s %s, which is no scheduler", where, host, w.kind, w.name)
			} else if p, ok := containerPort(sc, sp.TargetPort); !ok || strconv.Itoa(int(p)) != portOf(grpc.Value) {
				t.Errorf("%s: Service %s port %s does not reach STICKERD_GRPC_ADDR=%q", where, host, port, grpc.Value)
			}
		}
	}
}

func TestK8s_ServicesSelectPods(t *testing.T) {
	m := loadManifests(t)
	for _, s := range m.services {
		if len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s has no selector", s.Name)
			continue
		}
		pods := m.selecting(labels.SelectorFromSet(s.Spec.Selector))
		if len(pods) == 0 {
			t.Errorf("Service %s selects %v, which no pod template has", s.Name, s.Spec.Selector)
		}
		for _, sp := range s.Spec.Ports {
			for _, w := range pods {
				if !slices.ContainsFunc(w.template.Spec.Containers, func(c corev1.Container) bool {
					_, ok := containerPort(c, sp.TargetPort)
					return ok
				}) {
					t.Errorf("Service %s port %s: target %s is no container port of %s %s", s.Name, sp.Name, sp.TargetPort.String(), w.kind, w.name)
				}
			}
		}
	}
}

func TestK8s_SelectorsAreOwnTemplates(t *testing.T) {
	m := loadManifests(t)
	for _, w := range m.workloads() {
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || sel.Empty() {
			t.Errorf("%s %s: bad selector %v: %v", w.kind, w.name, w.selector, err)
			continue
		}
		for _, other := range m.selecting(sel) {
			if other.name != w.name || other.kind != w.kind {
				t.Errorf("%s %s's selector also matches the pods of %s %s", w.kind, w.name, other.kind, other.name)
			}
		}
		if !sel.Matches(labels.Set(w.template.Labels)) {
			t.Errorf("%s %s's selector does not match its own pod template", w.kind, w.name)
		}
	}
}

func TestK8s_PodDisruptionBudgets(t *testing.T) {
	m := loadManifests(t)
	covered := map[string]bool{}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("PDB %s: bad selector: %v", p.Name, err)
			continue
		}
		ws := m.selecting(sel)
		if len(ws) == 0 {
			t.Errorf("PDB %s selects no workload", p.Name)
		}
		for _, w := range ws {
			covered[w.name] = true
			if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int && p.Spec.MinAvailable.IntVal >= w.replicas {
				t.Errorf("PDB %s: minAvailable %d of %d replicas blocks every drain", p.Name, p.Spec.MinAvailable.IntVal, w.replicas)
			}
		}
	}
	for _, name := range []string{"etcd", "stickerd-gateway", "stickerd-scheduler", "stickerd-worker", "stickerd-worker-gpu", "stickerd-edge"} {
		if !covered[name] {
			t.Errorf("no PodDisruptionBudget covers %s", name)
		}
	}
}

func TestK8s_GPUWorker(t *testing.T) {
	m := loadManifests(t)
	var found bool
	for _, d := range m.deployments {
		spec := d.Spec.Template.Spec
		for _, c := range spec.Containers {
			gpus := c.Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]
			if gpus.IsZero() {
				continue
			}
			found = true
			if len(c.Args) == 0 || c.Args[0] != "worker" || !strings.HasSuffix(c.Image, "-gpu") {
				t.Errorf("Deployment %s requests a GPU but does not run the GPU worker image", d.Name)
			}
			if len(spec.NodeSelector) == 0 && spec.Affinity == nil {
				t.Errorf("Deployment %s: GPU pods need a nodeSelector or node affinity", d.Name)
			}
			if !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool { return tl.Key == "nvidia.com/gpu" }) {
				t.Errorf("Deployment %s: GPU pods need to tolerate the nvidia.com/gpu taint", d.Name)
			}
		}
	}
	if !found {
		t.Fatal("no Deployment requests nvidia.com/gpu")
	}
}

func TestK8s_WorkerAutoscaling(t *testing.T) {
	m := loadManifests(t)
	if len(m.hpas) == 0 {
		t.Fatal("no HorizontalPodAutoscaler")
	}
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		var target *appsv1.Deployment
		for _, d := range m.deployments {
			if ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && d.Name == ref.Name {
				target = d
			}
		}
		if target == nil {
			t.Errorf("HPA %s targets %s %s, which does not exist", h.Name, ref.Kind, ref.Name)
			continue
		}
		if c := target.Spec.Template.Spec.Containers[0]; len(c.Args) == 0 || c.Args[0] != "worker" {
			t.Errorf("HPA %s targets %s, which runs no worker", h.Name, target.Name)
		}
		if !slices.ContainsFunc(h.Spec.Metrics, func(ms autoscalingv2.MetricSpec) bool {
			return ms.Type == autoscalingv2.ExternalMetricSourceType && ms.External.Metric.Name == "stickerd_queue_depth"
		}) {
			t.Errorf("HPA %s is not driven by the external metric stickerd_queue_depth", h.Name)
		}
		if ptrOr(h.Spec.MinReplicas, 1) < 1 || h.Spec.MaxReplicas <= ptrOr(h.Spec.MinReplicas, 1) {
			t.Errorf("HPA %s: replicas %d..%d", h.Name, ptrOr(h.Spec.MinReplicas, 1), h.Spec.MaxReplicas)
		}
	}
	// The adapter rule that serves the metric.
	var rules struct {
		ExternalRules []struct {
			SeriesQuery string `json:"seriesQuery"`
			Name        struct {
				Matches string `json:"matches"`
				As      string `json:"as"`
			} `json:"name"`
			MetricsQuery string `json:"metricsQuery"`
		} `json:"externalRules"`
	}
	var served bool
	for _, cm := range m.configMaps {
		cfg, ok := cm.Data["config.yaml"]
		if !ok || !strings.Contains(cm.Name, "prometheus-adapter") {
			continue
		}
		if err := yaml.Unmarshal([]byte(cfg), &rules); err != nil {
			t.Fatalf("ConfigMap %s: config.yaml: %v", cm.Name, err)
		}
		for _, r := range rules.ExternalRules {
			if r.Name.As == "stickerd_queue_depth" && strings.Contains(r.SeriesQuery, "stickerd_queue_depth") && strings.Contains(r.MetricsQuery, "<<.Series>>") {
				served = true
			}
		}
	}
	if !served {
		t.Error("no prometheus-adapter externalRules entry serves stickerd_queue_depth")
	}
}

func TestK8s_ReferencesExist(t *testing.T) {
	m := loadManifests(t)
	// Created by the operator, never committed (see gateway.yaml and, for
	// the TLS Secrets, deployments/README.md).
	external := map[string]bool{"stickerd-api-keys": true}
	for _, svc := range tlsSecrets {
		external["stickerd-tls-"+svc] = true
	}
	claims := map[string]bool{}
	for _, p := range m.pvcs {
		claims[p.Name] = true
	}
	// claimed are the volumes a StatefulSet's volumeClaimTemplates add.
	check := func(where string, spec corev1.PodSpec, claimed ...string) {
		for _, v := range spec.Volumes {
			switch {
			case v.PersistentVolumeClaim != nil && !claims[v.PersistentVolumeClaim.ClaimName]:
				t.Errorf("%s: volume %s claims %s, which does not exist", where, v.Name, v.PersistentVolumeClaim.ClaimName)
			case v.ConfigMap != nil && m.configMap(v.ConfigMap.Name) == nil:
				t.Errorf("%s: volume %s uses ConfigMap %s, which does not exist", where, v.Name, v.ConfigMap.Name)
			case v.Secret != nil && !external[v.Secret.SecretName]:
				t.Errorf("%s: volume %s uses Secret %s, which nothing documents", where, v.Name, v.Secret.SecretName)
			}
		}
		for _, c := range spec.Containers {
			for _, vm := range c.VolumeMounts {
				if !slices.Contains(claimed, vm.Name) && !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name }) {
					t.Errorf("%s: container %s mounts unknown volume %s", where, c.Name, vm.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					ref := e.ValueFrom.ConfigMapKeyRef
					if cm := m.configMap(ref.Name); cm == nil || cm.Data[ref.Key] == "" {
						t.Errorf("%s: %s refers to ConfigMap %s key %s, which does not exist", where, e.Name, ref.Name, ref.Key)
					}
				}
			}
		}
	}
	for _, d := range m.deployments {
		check("Deployment "+d.Name, d.Spec.Template.Spec)
	}
	for _, s := range m.statefulSets {
		var claimed []string
		for _, pvc := range s.Spec.VolumeClaimTemplates {
			claimed = append(claimed, pvc.Name)
		}
		check("StatefulSet "+s.Name, s.Spec.Template.Spec, claimed...)
	}
	for _, j := range m.jobs {
		check("Job "+j.Name, j.Spec.Template.Spec)
	}
}

func TestK8s_KafkaTopics(t *testing.T) {
	m := loadManifests(t)
	cm := m.configMap("stickerd-kafka")
	if cm == nil {
		t.Fatal("no ConfigMap stickerd-kafka with the Kafka bootstrap address")
	}
	schedulers := int32(0)
	for _, d := range m.deployments {
		if c := d.Spec.Template.Spec.Containers[0]; len(c.Args) > 0 && c.Args[0] == "scheduler" {
			schedulers += ptrOr(d.Spec.Replicas, 1)
		}
	}
	if n, err := strconv.Atoi(cm.Data["partitions"]); err != nil || int32(n) < schedulers {
		t.Errorf("stickerd-kafka partitions=%q, want at least the %d scheduler replicas", cm.Data["partitions"], schedulers)
	}
	if n, err := strconv.Atoi(cm.Data["replication-factor"]); err != nil || n < 3 {
		t.Errorf("stickerd-kafka replication-factor=%q, want at least 3 in production", cm.Data["replication-factor"])
	}
	var script string
	for _, j := range m.jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			script += strings.Join(append(c.Command, c.Args...), " ")
		}
	}
	for _, topic := range queue.Topics() {
		if !strings.Contains(script, topic) {
			t.Errorf("no Job creates topic %s", topic)
		}
	}
}

// TestK8s_KustomizeBuild renders the kustomization with `kubectl kustomize`
// where kubectl is installed, and checks the result decodes strictly with
// every object in the stickerd namespace and every stickerd image tagged.
func TestK8s_KustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, kubectl, "kustomize", k8sDir).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", k8sDir, err, exit.Stderr)
		}
		t.Fatal(err)
	}
	m := loadManifests(t)
	want := m.kustomizations[k8sDir].Namespace
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	n := 0
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		obj, gvk, err := strict.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("kustomize output, document %d: %v", n+1, err)
		}
		n++
		meta, err := apimeta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		if gvk.Kind != "Namespace" && meta.GetNamespace() != want {
			t.Errorf("%s %s lands in namespace %q, want %q", gvk.Kind, meta.GetName(), meta.GetNamespace(), want)
		}
		if meta.GetLabels()["app.kubernetes.io/part-of"] != "stickerd" {
			t.Errorf("%s %s lacks the part-of label", gvk.Kind, meta.GetName())
		}
		if d, ok := obj.(*appsv1.Deployment); ok {
			for _, c := range d.Spec.Template.Spec.Containers {
				if isStickerd(c) && !strings.Contains(c.Image, ":") {
					t.Errorf("Deployment %s: image %s has no tag after kustomize", d.Name, c.Image)
				}
			}
		}
	}
	if n != m.perDir[k8sDir] {
		t.Errorf("kustomize rendered %d objects, the folder holds %d", n, m.perDir[k8sDir])
	}
}

// tlsSecrets are the services with a Secret stickerd-tls-SERVICE (tls.crt,
// tls.key, ca.crt), created as deployments/README.md says.
var tlsSecrets = []string{"gateway", "scheduler", "worker", "edge", "monitor", "etcd", "redis", "kafka"}

// TestK8s_TLSEverywhere checks that every stickerd container mounts its
// TLS Secret and names its files, reaches etcd over https:// and Redis
// over rediss://, speaks TLS to Kafka; that the HTTPS listeners are probed
// and scraped over HTTPS; that etcd and Redis require client
// certificates; and that deployments/README.md documents every Secret.
func TestK8s_TLSEverywhere(t *testing.T) {
	m := loadManifests(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "deployments/README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range tlsSecrets {
		if !strings.Contains(string(readme), svc) || !strings.Contains(string(readme), "stickerd-tls-") {
			t.Errorf("deployments/README.md does not say how to create stickerd-tls-%s", svc)
		}
	}
	secretMount := func(w workload, c corev1.Container) string {
		for _, vm := range c.VolumeMounts {
			for _, v := range w.template.Spec.Volumes {
				if v.Name == vm.Name && v.Secret != nil && strings.HasPrefix(v.Secret.SecretName, "stickerd-tls-") {
					return vm.MountPath
				}
			}
		}
		return ""
	}
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			where := fmt.Sprintf("%s %s", w.kind, w.name)
			dir := secretMount(w, c)
			switch {
			case isStickerd(c):
				if dir == "" {
					t.Errorf("%s: mounts no stickerd-tls-* Secret", where)
					continue
				}
				for v, file := range map[string]string{"STICKERD_TLS_CERT": "tls.crt", "STICKERD_TLS_KEY": "tls.key", "STICKERD_TLS_CA": "ca.crt"} {
					if e, _ := envValue(c, v); e.Value != dir+"/"+file {
						t.Errorf("%s: %s=%q, want %s/%s", where, v, e.Value, dir, file)
					}
				}
				r := roles[c.Args[0]]
				if e, _ := envValue(c, "STICKERD_KAFKA_TLS"); r.kafka && e.Value != "true" {
					t.Errorf("%s: STICKERD_KAFKA_TLS is not true", where)
				}
				if e, ok := envValue(c, "STICKERD_REDIS_URL"); ok && !strings.HasPrefix(e.Value, "rediss://") {
					t.Errorf("%s: STICKERD_REDIS_URL=%q, want rediss://", where, e.Value)
				}
				if r.serves {
					for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
						if p == nil || p.HTTPGet == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
							t.Errorf("%s: serves HTTPS but is probed over HTTP", where)
						}
					}
					if w.template.Annotations["prometheus.io/scheme"] != "https" {
						t.Errorf("%s: serves HTTPS but is scraped over HTTP (prometheus.io/scheme)", where)
					}
				}
			case strings.Contains(c.Image, "etcd"):
				args := strings.Join(c.Args, " ")
				for _, want := range []string{"--client-cert-auth", "--peer-client-cert-auth", "--cert-file=" + dir, "--listen-client-urls=https://", "--listen-peer-urls=https://"} {
					if dir == "" || !strings.Contains(args, want) {
						t.Errorf("%s: etcd lacks %s", where, want)
					}
				}
			case strings.HasPrefix(c.Image, "redis"):
				args := strings.Join(c.Args, " ")
				if dir == "" || !strings.Contains(args, "--port 0") || !strings.Contains(args, "--tls-auth-clients yes") {
					t.Errorf("%s: redis is not TLS-only with client certificates: %s", where, args)
				}
			}
		}
	}
}
