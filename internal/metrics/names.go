package metrics

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Type is the Prometheus type of a metric family.
type Type string

// The metric types this package uses.
const (
	TypeCounter   Type = "counter"
	TypeGauge     Type = "gauge"
	TypeHistogram Type = "histogram"
)

// HistogramSuffixes are the series a histogram family exposes besides its
// name: queries select "<name>_bucket", "<name>_sum" and "<name>_count",
// never the bare family name.
var HistogramSuffixes = []string{"_bucket", "_sum", "_count"}

// Family describes one metric family defined in this package, as its
// collector describes itself.
type Family struct {
	Name   string
	Help   string
	Type   Type
	Labels []string
}

// Series returns the series names the family exposes: the name itself for
// counters and gauges, the three suffixed names for a histogram.
func (f Family) Series() []string {
	if f.Type != TypeHistogram {
		return []string{f.Name}
	}
	out := make([]string, 0, len(HistogramSuffixes))
	for _, s := range HistogramSuffixes {
		out = append(out, f.Name+s)
	}
	return out
}

// collectors lists the variables of metrics.go. Names, help texts and labels
// are read from the collectors themselves (Describe), so this list only says
// which variables exist; TestCollectors_ListEveryMetricVar parses metrics.go
// and fails when a new metric is missing here.
func collectors() []prometheus.Collector {
	return []prometheus.Collector{
		HTTPRequests, HTTPDuration, GRPCMessages, GRPCHandleDuration,
		JobTransitions, JobsSubmitted, QueueDepth, QueueOldestAge, JobsRunning,
		DeadLettered, StaleReports, SubmitToRunning, KafkaConsumerLag,
		WorkersConnected, WorkersLost, HeartbeatsMissed, WorkerCPU, WorkerGPU,
		WorkerNVENC, WorkerJobs, WorkerChains,
		RenderDuration, RenderRealtime, RenderOutputBytes, Renders,
		ScratchHits, ScratchMisses, ScratchEvictions, ScratchBytes,
		StoreDuration, StoreErrors, LeaderChanges, IsLeader, EtcdHasLeader, SchedulerAuthRefused,
		StoredBytes, StoredObjects, StoredOldestAge, RetentionTTL, RetentionDeletions, RetentionDeletedBytes,
		LocalErrors, Errors, ErrorEventsDropped, DLQMessages, Webhooks,
		RTCSessions, RTCFrameLatency, RTCFrames, RTCFramesDropped, RTCFPS,
	}
}

// Families returns every metric family defined in this package, sorted by
// name.
func Families() []Family {
	var out []Family
	for _, c := range collectors() {
		out = append(out, describe(c)...)
	}
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the name of every metric family defined in this package,
// sorted. A histogram is listed once, by its family name; its series carry
// the HistogramSuffixes (see SeriesNames).
func Names() []string {
	fams := Families()
	out := make([]string, len(fams))
	for i, f := range fams {
		out[i] = f.Name
	}
	return out
}

// SeriesNames returns every series name a query may select: counters and
// gauges by name, histograms by name plus each of HistogramSuffixes.
func SeriesNames() []string {
	var out []string
	for _, f := range Families() {
		out = append(out, f.Series()...)
	}
	slices.Sort(out)
	return out
}

// describe reads the families a collector describes. Desc has no getters,
// but its String form is stable: fqName and help are Go-quoted and the
// variable labels close the string.
func describe(c prometheus.Collector) []Family {
	ch := make(chan *prometheus.Desc, 8)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	var out []Family
	for d := range ch {
		f, err := parseDesc(d.String())
		if err != nil {
			panic(fmt.Sprintf("metrics: %v", err))
		}
		f.Type = typeOf(c)
		out = append(out, f)
	}
	return out
}

var (
	descName   = regexp.MustCompile(`fqName: ("(?:[^"\\]|\\.)*")`)
	descHelp   = regexp.MustCompile(`help: ("(?:[^"\\]|\\.)*")`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}\}$`)
	// labelConstraint wraps a constrained label's name in Desc.String.
	labelConstraint = regexp.MustCompile(`^c\((.*)\)$`)
)

func parseDesc(s string) (Family, error) {
	var f Family
	name := descName.FindStringSubmatch(s)
	help := descHelp.FindStringSubmatch(s)
	labels := descLabels.FindStringSubmatch(s)
	if name == nil || help == nil || labels == nil {
		return f, fmt.Errorf("cannot parse %s", s)
	}
	var err error
	if f.Name, err = strconv.Unquote(name[1]); err != nil {
		return f, fmt.Errorf("fqName of %s: %w", s, err)
	}
	if f.Help, err = strconv.Unquote(help[1]); err != nil {
		return f, fmt.Errorf("help of %s: %w", s, err)
	}
	for _, l := range strings.Split(labels[1], ",") {
		if l == "" {
			continue
		}
		if m := labelConstraint.FindStringSubmatch(l); m != nil {
			l = m[1]
		}
		f.Labels = append(f.Labels, l)
	}
	return f, nil
}

// typeOf classifies a collector by the interface it implements. A Gauge also
// has Inc and Add, so it is tested before Counter.
func typeOf(c prometheus.Collector) Type {
	switch c.(type) {
	case prometheus.Histogram, *prometheus.HistogramVec:
		return TypeHistogram
	case prometheus.Gauge, *prometheus.GaugeVec:
		return TypeGauge
	case prometheus.Counter, *prometheus.CounterVec:
		return TypeCounter
	}
	panic(fmt.Sprintf("metrics: collector %T has no known type", c))
}
