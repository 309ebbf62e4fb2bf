package metrics

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StateAnnotation on a pod is the operator's record of it, as JSON: the metrics APIs that
// scrape the pod, and for each annotation key the operator set, what the key held before
// (absent when it was not there) and what the operator wrote. The keys the pod shows are
// worked out from this record alone, so every reconcile of every API writes the same
// thing, and a pod several APIs select is written once and then left alone.
const StateAnnotation = "metrics.oda.tmforum.org/scraping"

// podState is the StateAnnotation's value.
type podState struct {
	APIs map[string]apiEntry  `json:"apis,omitempty"`
	Keys map[string]keyRecord `json:"keys,omitempty"`
}

// apiEntry is what a metrics API asks of the pods it selects.
type apiEntry struct {
	Created metav1.Time `json:"created"`
	Service string      `json:"service"`
	Path    string      `json:"path"`
	Port    int32       `json:"port"`
}

// keyRecord is one annotation key the operator set.
type keyRecord struct {
	// Was is the value before the operator set the key; nil when the key was absent.
	Was *string `json:"was,omitempty"`
	Set string  `json:"set"`
}

func readState(pod *corev1.Pod) (*podState, error) {
	st := &podState{}
	raw, ok := pod.Annotations[StateAnnotation]
	if ok {
		if err := json.Unmarshal([]byte(raw), st); err != nil {
			return nil, &unreadableRecord{pod: pod.Namespace + "/" + pod.Name, err: err}
		}
	}
	if st.APIs == nil {
		st.APIs = map[string]apiEntry{}
	}
	if st.Keys == nil {
		st.Keys = map[string]keyRecord{}
	}
	return st, nil
}

// unreadableRecord is a pod whose StateAnnotation is not the operator's record (edited by
// hand, or written by another tool): without it the operator cannot tell which of the pod's
// annotations are its own, or what they were before, so it leaves the pod as it is.
type unreadableRecord struct {
	pod string
	err error
}

func (e *unreadableRecord) Error() string {
	return fmt.Sprintf("pod %s: annotation %s is not the operator's record (was it edited?): %v", e.pod, StateAnnotation, e.err)
}

func (e *unreadableRecord) Unwrap() error { return e.err }

// apiNames are the names of the APIs that scrape the pod, for the cache index.
func apiNames(pod *corev1.Pod) []string {
	st, err := readState(pod)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(st.APIs))
	for name := range st.APIs {
		names = append(names, name)
	}
	return names
}

// ordered are the names of the pod's APIs, oldest first, then by name: the first is the
// one whose path and port a Prometheus annotation carries.
func (st *podState) ordered() []string {
	names := make([]string, 0, len(st.APIs))
	for name := range st.APIs {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := st.APIs[a].Created.Compare(st.APIs[b].Created.Time); c != 0 {
			return c
		}
		if a < b {
			return -1
		}
		return 1
	})
	return names
}

// wanted are the annotation keys and values the pattern shows for the pod's APIs.
func (s *Scraper) wanted(st *podState, pod *corev1.Pod) (map[string]string, error) {
	names := st.ordered()
	switch {
	case len(names) == 0:
		return nil, nil
	case s.Pattern == PrometheusAnnotation:
		first := st.APIs[names[0]]
		return map[string]string{PrometheusScrape: "true", PrometheusPath: first.Path, PrometheusPort: strconv.Itoa(int(first.Port))}, nil
	case s.Pattern != DataDogAnnotation || dataDogKey(pod) == "":
		// The ServiceMonitor pattern annotates nothing: it only cleans up.
		return nil, nil
	}
	checks := dataDogChecks{}
	for _, name := range names {
		e := st.APIs[name]
		inst := dataDogInstance{
			Endpoint:  fmt.Sprintf("http://%s.%s.svc.cluster.local:%d%s", e.Service, pod.Namespace, e.Port, e.Path),
			Namespace: pod.Namespace,
			Metrics:   []string{".*"},
		}
		// Two APIs at one endpoint would have DataDog scrape it twice.
		if !slices.ContainsFunc(checks.OpenMetrics.Instances, func(i dataDogInstance) bool { return i.Endpoint == inst.Endpoint }) {
			checks.OpenMetrics.Instances = append(checks.OpenMetrics.Instances, inst)
		}
	}
	v, err := json.Marshal(checks)
	return map[string]string{dataDogKey(pod): string(v)}, err
}

// changes are the annotation edits that make the pod show want, recorded in st: a key the
// operator takes over keeps what it held in Was (a value someone wrote over ours since
// counts as the new original); a key no longer wanted gets Was back, unless someone else
// has written it since, whose value is then left alone.
func (st *podState) changes(current, want map[string]string) map[string]any {
	edits := map[string]any{}
	for k, v := range want {
		rec, ours := st.Keys[k]
		cur, has := current[k]
		if !ours || !has || cur != rec.Set {
			rec.Was = nil
			if has {
				rec.Was = &cur
			}
		}
		rec.Set = v
		st.Keys[k] = rec
		if !has || cur != v {
			edits[k] = v
		}
	}
	for k, rec := range st.Keys {
		if _, keep := want[k]; keep {
			continue
		}
		delete(st.Keys, k)
		cur, has := current[k]
		switch {
		case !has || cur != rec.Set:
			// someone else's since: leave it
		case rec.Was == nil:
			edits[k] = nil
		case *rec.Was != cur:
			edits[k] = *rec.Was
		}
	}
	return edits
}

// encode is the StateAnnotation's new value, empty to remove it. Maps marshal with sorted
// keys, so the same record always reads the same.
func (st *podState) encode() (string, error) {
	if len(st.APIs) == 0 && len(st.Keys) == 0 {
		return "", nil
	}
	raw, err := json.Marshal(st)
	return string(raw), err
}
