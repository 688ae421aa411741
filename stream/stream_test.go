package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel/trace"
)

func TestTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		finess, typ string
		want        string
	}{
		{"750712184", ResourceStudy, "it4ct.site.750712184.researchstudy.v1"},
		{"750712184", ResourceSubject, "it4ct.site.750712184.researchsubject.v1"},
		{"2a0000021", ResourceSubject, "it4ct.site.2A0000021.researchsubject.v1"},
	}
	for _, tt := range tests {
		got := Topic(tt.finess, tt.typ)
		if got != tt.want {
			t.Errorf("Topic(%q, %q) = %q, want %q", tt.finess, tt.typ, got, tt.want)
		}
		finess, typ, ok := ParseTopic(got)
		if !ok || finess != strings.ToUpper(tt.finess) || typ != tt.typ {
			t.Errorf("ParseTopic(%q) = %q, %q, %v; want %q, %q, true", got, finess, typ, ok, strings.ToUpper(tt.finess), tt.typ)
		}
	}
}

func TestParseTopicRejects(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(TopicPattern)
	for _, topic := range []string{
		"",
		"it4ct.site.75071218.researchstudy.v1",        // 8 characters
		"it4ct.site.7507121840.researchstudy.v1",      // 10
		"it4ct.site.2C0000021.researchstudy.v1",       // only 2A/2B
		"it4ct.site.750712184.patient.v1",             // other resource
		"it4ct.site.750712184.researchstudy.v2",       // other version
		"it4ct.site.750712184.researchstudy.v1.retry", // suffix
		"x.it4ct.site.750712184.researchstudy.v1",     // prefix
		"__consumer_offsets",
	} {
		if f, typ, ok := ParseTopic(topic); ok {
			t.Errorf("ParseTopic(%q) = %q, %q, true; want false", topic, f, typ)
		}
		if re.MatchString(topic) {
			t.Errorf("TopicPattern matches %q", topic)
		}
	}
}

// TestPublishAndConsume publishes to two sites, checks Publish returned only
// after the records were in the log, consumes everything, and checks a topic
// created while the consumer runs is picked up.
func TestPublishAndConsume(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	p := newTestProducer(t, b)
	ctx := t.Context()
	topics := []string{Topic(siteA, ResourceStudy), Topic(siteA, ResourceSubject), Topic(siteB, ResourceStudy)}
	if err := p.EnsureTopics(ctx, topics...); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	if err := p.EnsureTopics(ctx, topics...); err != nil {
		t.Fatalf("EnsureTopics a second time: %v", err)
	}
	msgs := testMessages(600, topics...)
	if err := p.Publish(ctx, msgs); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Right after Publish: the high watermarks account for every record.
	ends, err := EndOffsets(ctx, b.Addrs())
	if err != nil {
		t.Fatalf("EndOffsets: %v", err)
	}
	for _, topic := range topics {
		var n int64
		for _, end := range ends[topic] {
			n += end
		}
		if n != 200 {
			t.Errorf("after Publish, %s holds %d records, want 200", topic, n)
		}
		if got := len(ends[topic]); got != DefaultPartitions {
			t.Errorf("%s has %d partitions, want %d", topic, got, DefaultPartitions)
		}
	}

	h := newMemHandler()
	if ok, err := CaughtUp(ctx, b.Addrs(), h); err != nil || ok {
		t.Errorf("CaughtUp before consuming = %v, %v; want false, nil", ok, err)
	}
	runConsume(t, testConsumerConfig(b), h)
	waitFor(t, 10*time.Second, "600 records", func() bool { return h.len() >= 600 })

	// A new establishment appears while the consumer runs.
	late := Topic("990000038", ResourceSubject)
	if err := p.EnsureTopics(ctx, late); err != nil {
		t.Fatal(err)
	}
	lateMsgs := testMessages(5, late)
	if err := p.Publish(ctx, lateMsgs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the late topic's records", func() bool { return h.len() >= 605 })

	got := h.records()
	checkNoDuplicates(t, got)
	want := map[string]string{}
	for _, m := range append(msgs, lateMsgs...) {
		want[m.Topic+"|"+m.Key] = string(m.Value)
	}
	gotKV := map[string]string{}
	for _, r := range got {
		gotKV[r.Topic+"|"+string(r.Key)] = string(r.Value)
		if r.Headers[HeaderSchemaVersion] != SchemaVersion || r.Headers[HeaderSource] != "ctms-test" {
			t.Errorf("record %s/%s headers = %v, want schema version %s and source", r.Topic, r.Key, r.Headers, SchemaVersion)
		}
		if _, ok := r.Headers[HeaderTraceParent]; ok {
			t.Errorf("record %s/%s has a traceparent although Publish's ctx had no span", r.Topic, r.Key)
		}
	}
	if d := cmp.Diff(want, gotKV); d != "" {
		t.Errorf("consumed records differ from published (-want +got):\n%s", d)
	}
	if ok, err := CaughtUp(ctx, b.Addrs(), h); err != nil || !ok {
		t.Errorf("CaughtUp after consuming = %v, %v; want true, nil", ok, err)
	}
}

// TestRestart restarts broker and consumer on the same data dir and handler.
func TestRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	topics := []string{Topic(siteA, ResourceStudy), Topic(siteB, ResourceSubject)}

	b1 := startBroker(t, dir)
	p1 := newTestProducer(t, b1)
	if err := p1.EnsureTopics(ctx, topics...); err != nil {
		t.Fatal(err)
	}
	first := testMessages(100, topics...)
	if err := p1.Publish(ctx, first); err != nil {
		t.Fatal(err)
	}
	h := newMemHandler()
	cfg := testConsumerConfig(b1)
	cfg.Group = "restart-test"
	stop := runConsume(t, cfg, h)
	waitFor(t, 10*time.Second, "first 100 records", func() bool { return h.len() >= 100 })
	// The group commit follows Handle; wait until it covers everything.
	waitFor(t, 10*time.Second, "group commits", func() bool {
		return slices.Equal(flatten(groupOffsets(t, b1, cfg.Group)), flatten(h.offsets2()))
	})
	stop()
	groupBefore := groupOffsets(t, b1, cfg.Group)
	endsBefore, err := EndOffsets(ctx, b1.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	p1.Close()
	if err := b1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	b2 := startBroker(t, dir)
	endsAfter, err := EndOffsets(ctx, b2.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(endsBefore, endsAfter); d != "" {
		t.Errorf("end offsets changed across restart (-before +after):\n%s", d)
	}
	if d := cmp.Diff(groupBefore, groupOffsets(t, b2, cfg.Group)); d != "" {
		t.Errorf("group offsets changed across restart (-before +after):\n%s", d)
	}
	if got := topicConfig(t, b2, topics[0], "cleanup.policy"); got != "compact" {
		t.Errorf("after restart cleanup.policy = %q, want compact", got)
	}
	log := readLog(t, b2, topics...)
	if len(log) != 100 {
		t.Errorf("after restart the log holds %d records, want 100", len(log))
	}

	// New records, then resume the same handler: exactly the new ones.
	p2 := newTestProducer(t, b2)
	second := testMessages(150, topics...)[100:]
	if err := p2.Publish(ctx, second); err != nil {
		t.Fatal(err)
	}
	cfg.Brokers = b2.Addrs()
	stop = runConsume(t, cfg, h)
	waitFor(t, 10*time.Second, "150 records", func() bool { return h.len() >= 150 })
	if ok, err := CaughtUp(ctx, b2.Addrs(), h); err != nil || !ok {
		t.Errorf("CaughtUp = %v, %v; want true", ok, err)
	}
	stop()
	got := h.records()
	checkNoDuplicates(t, got)
	if len(got) != 150 {
		t.Errorf("handled %d records in total, want 150", len(got))
	}
	for _, r := range got[100:] {
		if k := string(r.Key); k < "res-00100" {
			t.Errorf("after restart re-delivered %s/%s", r.Topic, k)
		}
	}

	// The Handler owns positions, not the group: a handler whose store
	// lost its last 3 records of one partition gets exactly those again,
	// although the group has committed past them.
	rewound := h.clone()
	var (
		rtopic string
		rpart  int32
	)
	for _, r := range got {
		if r.Offset >= 3 {
			rtopic, rpart = r.Topic, r.Partition
			break
		}
	}
	if rtopic == "" {
		t.Fatal("no partition holds 4 records; raise the record count")
	}
	end := rewound.offsets[rtopic][rpart]
	rewound.offsets[rtopic][rpart] = end - 3
	before := rewound.len()
	runConsume(t, cfg, rewound)
	waitFor(t, 10*time.Second, "the 3 rewound records", func() bool { return rewound.len() >= before+3 })
	if ok, err := CaughtUp(ctx, b2.Addrs(), rewound); err != nil || !ok {
		t.Errorf("CaughtUp after rewind = %v, %v; want true", ok, err)
	}
	again := rewound.records()[before:]
	if len(again) != 3 {
		t.Fatalf("rewound handler got %d records, want 3", len(again))
	}
	for i, r := range again {
		if r.Topic != rtopic || r.Partition != rpart || r.Offset != end-3+int64(i) {
			t.Errorf("rewound record %d = %s/%d@%d, want %s/%d@%d", i, r.Topic, r.Partition, r.Offset, rtopic, rpart, end-3+int64(i))
		}
	}
}

func (h *memHandler) offsets2() map[string]map[int32]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]map[int32]int64{}
	for t, m := range h.offsets {
		out[t] = maps.Clone(m)
	}
	return out
}

func flatten(m map[string]map[int32]int64) []string {
	var out []string
	for t, ps := range m {
		for p, o := range ps {
			out = append(out, fmt.Sprintf("%s/%d=%d", t, p, o))
		}
	}
	slices.Sort(out)
	return out
}

func groupOffsets(t *testing.T, b *Broker, group string) map[string]map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resps, err := kadm.NewClient(cl).FetchOffsets(t.Context(), group)
	if err != nil {
		t.Fatalf("FetchOffsets(%s): %v", group, err)
	}
	out := map[string]map[int32]int64{}
	resps.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Errorf("group offset %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

func topicConfig(t *testing.T, b *Broker, topic, key string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(t.Context(), topic)
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatalf("config of %s: %v", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == key && c.Value != nil {
			return *c.Value
		}
	}
	return ""
}

func TestTombstone(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	p := newTestProducer(t, b)
	ctx := t.Context()
	topic := Topic(siteA, ResourceSubject)
	if err := p.EnsureTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		{Topic: topic, Key: "subj-1", Value: []byte(`{"resourceType":"ResearchSubject","id":"subj-1"}`)},
		{Topic: topic, Key: "subj-1", Value: nil},      // deletion
		{Topic: topic, Key: "subj-2", Value: []byte{}}, // empty, not a deletion
	}
	if err := p.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	h := newMemHandler()
	runConsume(t, testConsumerConfig(b), h)
	waitFor(t, 10*time.Second, "3 records", func() bool { return h.len() >= 3 })
	byKey := map[string][]Record{}
	for _, r := range h.records() {
		byKey[string(r.Key)] = append(byKey[string(r.Key)], r)
	}
	s1 := byKey["subj-1"]
	if len(s1) != 2 || s1[0].Value == nil || s1[1].Value != nil {
		t.Errorf("subj-1 records = %+v, want a value then a nil (tombstone) value", s1)
	}
	if s2 := byKey["subj-2"]; len(s2) != 1 || s2[0].Value == nil || len(s2[0].Value) != 0 {
		t.Errorf("subj-2 records = %+v, want one empty, non-nil value", s2)
	}
}

// TestCompaction documents what kfake does with cleanup.policy=compact.
func TestCompaction(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	// One partition so that all keys share a log.
	p := newTestProducer(t, b, ProducerPartitions(1))
	ctx := t.Context()
	topic := Topic(siteA, ResourceStudy)
	if err := p.EnsureTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	for _, batch := range [][]Message{
		{{Topic: topic, Key: "a", Value: []byte("a1")}, {Topic: topic, Key: "b", Value: []byte("b1")}},
		{{Topic: topic, Key: "a", Value: []byte("a2")}},
		{{Topic: topic, Key: "c", Value: []byte("c1")}}, // the newest batch is never compacted
	} {
		if err := p.Publish(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	b.Compact()
	var got []string
	for _, r := range readLog(t, b, topic) {
		got = append(got, fmt.Sprintf("%d:%s=%s", r.Offset, r.Key, r.Value))
	}
	want := []string{"1:b=b1", "2:a=a2", "3:c=c1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("log after Compact (-want +got):\n%s", d)
	}
}

// TestPublishSurvivesProduceFaults fails produce requests once with
// retriable errors: Publish still succeeds and every record is in the log
// exactly once.
func TestPublishSurvivesProduceFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inject func(c *kfake.Cluster) (hits func() int)
	}{{
		// The broker refuses the request without applying it.
		name: "control: not leader, not applied",
		inject: func(c *kfake.Cluster) func() int {
			var n atomic.Int32
			c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
				n.Add(1) // once: handling the request drops the control
				req := kreq.(*kmsg.ProduceRequest)
				resp := req.ResponseKind().(*kmsg.ProduceResponse)
				for _, rt := range req.Topics {
					st := kmsg.NewProduceResponseTopic()
					st.Topic, st.TopicID = rt.Topic, rt.TopicID
					for _, rp := range rt.Partitions {
						sp := kmsg.NewProduceResponseTopicPartition()
						sp.Partition = rp.Partition
						sp.ErrorCode = kerr.NotLeaderForPartition.Code
						st.Partitions = append(st.Partitions, sp)
					}
					resp.Topics = append(resp.Topics, st)
				}
				return resp, nil, true
			})
			return func() int { return int(n.Load()) }
		},
	}, {
		// The broker applies the request but answers REQUEST_TIMED_OUT:
		// the client retries what is already written, and only the
		// idempotent producer's sequence numbers prevent a duplicate.
		name: "fault: timed out after append",
		inject: func(c *kfake.Cluster) func() int {
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 1})
			return h.Hits
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t, "")
			p := newTestProducer(t, b)
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			topic := Topic(siteA, ResourceSubject)
			if err := p.EnsureTopics(ctx, topic); err != nil {
				t.Fatal(err)
			}
			hits := tt.inject(b.cluster)
			msgs := testMessages(300, topic)
			if err := p.Publish(ctx, msgs); err != nil {
				t.Fatalf("Publish with one failing produce: %v", err)
			}
			if n := hits(); n != 1 {
				t.Fatalf("fault fired %d times, want 1", n)
			}
			count := map[string]int{}
			for _, r := range readLog(t, b, topic) {
				count[string(r.Key)]++
			}
			for _, m := range msgs {
				if count[m.Key] != 1 {
					t.Errorf("key %s is %d times in the log, want 1", m.Key, count[m.Key])
				}
			}
			if len(count) != len(msgs) {
				t.Errorf("log holds %d keys, want %d", len(count), len(msgs))
			}
		})
	}
}

func TestHandleFailureRetried(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	p := newTestProducer(t, b)
	ctx := t.Context()
	topics := []string{Topic(siteA, ResourceStudy), Topic(siteB, ResourceStudy)}
	if err := p.EnsureTopics(ctx, topics...); err != nil {
		t.Fatal(err)
	}
	msgs := testMessages(200, topics...)
	if err := p.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	h := newMemHandler()
	h.failNext = 2
	runConsume(t, testConsumerConfig(b), h)
	waitFor(t, 10*time.Second, "200 records", func() bool { return h.len() >= 200 })
	waitFor(t, 10*time.Second, "caught up", func() bool {
		ok, err := CaughtUp(ctx, b.Addrs(), h)
		return err == nil && ok
	})
	got := h.records()
	checkNoDuplicates(t, got)
	if len(got) != 200 {
		t.Errorf("handled %d records, want 200", len(got))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures != 2 {
		t.Errorf("Handle failed %d times, want 2 (the injected failures)", h.failures)
	}
}

func TestTraceContext(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	p := newTestProducer(t, b)
	topic := Topic(siteA, ResourceStudy)
	if err := p.EnsureTopics(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(t.Context(), sc)
	if err := p.Publish(ctx, testMessages(1, topic)); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, b, topic)
	if len(recs) != 1 {
		t.Fatalf("log holds %d records, want 1", len(recs))
	}
	var tp string
	for _, h := range recs[0].Headers {
		if h.Key == HeaderTraceParent {
			tp = string(h.Value)
		}
	}
	if !regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`).MatchString(tp) {
		t.Fatalf("traceparent header = %q, want W3C version 00 format", tp)
	}
	if want := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"; tp != want {
		t.Errorf("traceparent = %q, want %q", tp, want)
	}
	got := trace.SpanContextFromContext(TraceContext(context.Background(), toRecords(recs)[0]))
	if got.TraceID() != tid || got.SpanID() != sid || !got.IsRemote() {
		t.Errorf("TraceContext extracted %v/%v remote=%v, want %v/%v remote", got.TraceID(), got.SpanID(), got.IsRemote(), tid, sid)
	}
}

func TestBrokerPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = StartBroker(t.Context(), BrokerConfig{Addr: addr, DataDir: t.TempDir()})
	if err == nil {
		t.Fatal("StartBroker on a taken port succeeded")
	}
	if want := addr + " is in use: pass --kafka-addr"; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

// TestBrokerAdvertises checks what the broker puts in metadata, which is
// what external clients connect to after bootstrapping.
func TestBrokerAdvertises(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr, advertise string
		wantHost              string
	}{
		{"loopback", "127.0.0.1:0", "", "127.0.0.1"},
		{"wildcard", "0.0.0.0:0", "", "127.0.0.1"},
		{"explicit", "127.0.0.1:0", "localhost:%d", "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adv := tt.advertise
			var port int
			if adv != "" {
				// Reserve a port so the advertised one is the bound one.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				port = ln.Addr().(*net.TCPAddr).Port
				ln.Close()
				adv = fmt.Sprintf(adv, port)
				tt.addr = fmt.Sprintf("127.0.0.1:%d", port)
			}
			b, err := StartBroker(t.Context(), BrokerConfig{Addr: tt.addr, Advertise: adv})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			md, err := kadm.NewClient(cl).BrokerMetadata(t.Context())
			if err != nil {
				t.Fatalf("metadata: %v", err)
			}
			if len(md.Brokers) != 1 {
				t.Fatalf("metadata lists %d brokers, want 1", len(md.Brokers))
			}
			got := md.Brokers[0]
			if got.Host != tt.wantHost {
				t.Errorf("advertised host %q, want %q", got.Host, tt.wantHost)
			}
			if want := b.Addrs()[0]; net.JoinHostPort(got.Host, fmt.Sprint(got.Port)) != want {
				t.Errorf("advertised %s:%d, Addrs() = %s", got.Host, got.Port, want)
			}
			if port != 0 && got.Port != int32(port) {
				t.Errorf("advertised port %d, want %d", got.Port, port)
			}
		})
	}
}

func TestPublishContextCanceled(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	p := newTestProducer(t, b)
	topic := Topic(siteA, ResourceStudy)
	if err := p.EnsureTopics(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	// The broker never answers: Publish must give up when ctx ends.
	b.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		b.cluster.KeepControl()
		return nil, nil, true
	})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := p.Publish(ctx, testMessages(10, topic))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish against a mute broker = %v, want deadline exceeded", err)
	}
}

// BenchmarkPublish publishes 1000-record batches of ~1 KiB FHIR-sized
// values to an in-memory broker and waits for the acknowledgements.
// Sub-benchmarks: broker in memory and on a data dir.
func BenchmarkPublish(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchPublish(b, "") })
	b.Run("datadir", func(b *testing.B) { benchPublish(b, b.TempDir()) })
}

func benchPublish(b *testing.B, dir string) {
	br, err := StartBroker(b.Context(), BrokerConfig{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	p, err := NewProducer(b.Context(), br.Addrs())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	topic := Topic(siteA, ResourceSubject)
	if err := p.EnsureTopics(b.Context(), topic); err != nil {
		b.Fatal(err)
	}
	value := bytes.Repeat([]byte("x"), 1024)
	msgs := make([]Message, 1000)
	for i := range msgs {
		msgs[i] = Message{Topic: topic, Key: fmt.Sprintf("res-%08d", i), Value: value}
	}
	b.SetBytes(int64(len(msgs) * len(value)))
	b.ResetTimer()
	for b.Loop() {
		if err := p.Publish(b.Context(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "records/s")
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEnsureTopicsWarnsOnExistingUncompacted(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := newTestProducer(t, b, ProducerLogger(log))
	plain, compacted := Topic(siteA, ResourceStudy), Topic(siteB, ResourceStudy)
	adm := kadm.NewClient(p.cl)
	if _, err := adm.CreateTopics(t.Context(), 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("delete")}, plain); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureTopics(t.Context(), plain, compacted); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureTopics(t.Context(), plain, compacted); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if n := strings.Count(out, "existing topic is not compacted"); n != 2 || !strings.Contains(out, "topic="+plain) {
		t.Errorf("want two warnings about %s, got logs:\n%s", plain, out)
	}
	if strings.Contains(out, "topic="+compacted) {
		t.Errorf("warned about compacted topic %s:\n%s", compacted, out)
	}
	if got := topicConfig(t, b, compacted, "cleanup.policy"); got != "compact" {
		t.Errorf("cleanup.policy of a new topic = %q, want compact", got)
	}
}
