package logagent

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cnplatform/platform/components/logging/agentspec"
)

// BulkPaths are the Elastic Bulk endpoints LogScale documents on its base
// URL (agentspec.IngestPath, agentspec.BulkPath): the receiver answers
// these two paths and nothing else.
var BulkPaths = []string{agentspec.IngestPath, agentspec.BulkPath}

// Doc is one document the receiver took, reduced to what the scenarios
// check: the writer stream and sequence number the test wrote into the log
// line, and the fields the pipeline adds.
type Doc struct {
	Src        string
	Seq        int64
	Cluster    string
	Namespace  string
	Pod        string
	Container  string
	PodLabels  map[string]string
	HasMessage bool
}

// Receiver is a LogScale-like Elastic Bulk endpoint on 127.0.0.1. It
// accepts only BulkPaths, requires HTTP basic auth with User and Token (the
// ingest token is the password), gunzips, parses the bulk NDJSON strictly
// (an action line naming Index, then the document, for every document),
// answers as an Elasticsearch bulk endpoint does (one item per document),
// and records every document it acknowledged. Anything else is refused and
// kept in ProtocolErrors, so a scenario fails on it rather than hiding it
// behind the agent's retries.
type Receiver struct {
	User, Token, Index string

	mu        sync.Mutex
	addr      string
	srv       *http.Server
	up        bool
	itemBytes int
	// seen counts, per stream and sequence number, how often a document
	// arrived.
	seen      map[string]map[int64]int
	samples   map[string]Doc
	docs      int64
	requests  int64
	gzipped   int64
	paths     map[string]int64
	maxReply  int
	protoErrs []string
	lastDocAt time.Time
	// rejectEvery > 0: every rejectEvery-th document (counted over all
	// requests) is refused inside a successful reply, with the statuses of
	// rejectStatuses in turn; rejected records them.
	rejectEvery    int
	rejectStatuses []int
	rejectCount    int64
	rejected       map[string]map[int64]bool
	// maxBody > 0: a request whose body, decompressed, is larger is
	// refused with 413; tooLarge counts them.
	maxBody  int
	tooLarge int64
	// maxSeenBody is the largest decompressed body of any request.
	maxSeenBody int
}

// RejectItems makes the receiver answer every request that has documents
// as Elasticsearch answers a partial failure: HTTP 200, "errors": true, and
// every n-th document's item refused with one of statuses in turn (429 is
// Elasticsearch's "too many requests", 503 "unavailable"); the others are
// taken. A refused document is not recorded as received.
func (r *Receiver) RejectItems(n int, statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejectEvery, r.rejectStatuses = n, statuses
}

// RefuseAbove makes the receiver answer 413 (payload too large) to every
// request whose body, decompressed, is larger than n bytes, as LogScale
// does above its request size limit.
func (r *Receiver) RefuseAbove(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maxBody = n
}

// Rejected reports whether document seq of stream src was ever refused.
func (r *Receiver) Rejected(src string, seq int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected[src][seq]
}

// RejectedCount is how many distinct documents of src were refused and
// never taken.
func (r *Receiver) RejectedCount(src string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for seq := range r.rejected[src] {
		if r.seen[src][seq] == 0 {
			n++
		}
	}
	return n
}

// NewReceiver listens on a free port of 127.0.0.1 and serves.
func NewReceiver(user, token, index string) (*Receiver, error) {
	r := &Receiver{User: user, Token: token, Index: index, seen: map[string]map[int64]int{}, samples: map[string]Doc{}, paths: map[string]int64{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	return r, nil
}

// Addr is host:port.
func (r *Receiver) Addr() string { return r.addr }

// Port is the TCP port.
func (r *Receiver) Port() int { return r.tcpAddr().Port }

func (r *Receiver) tcpAddr() *net.TCPAddr {
	a, _ := net.ResolveTCPAddr("tcp", r.addr)
	return a
}

// SetReplyItemBytes pads every item of the bulk reply to about n bytes.
// Elasticsearch's items are about 200 bytes; larger items make the large
// replies that broke a 512k response buffer.
func (r *Receiver) SetReplyItemBytes(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.itemBytes = n
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv, r.up = srv, true
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Down takes the endpoint away: new connections are refused; requests in
// flight are answered first, so an acknowledged document is never lost on
// the way back.
func (r *Receiver) Down() error {
	r.mu.Lock()
	srv := r.srv
	r.up = false
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// Up brings the endpoint back on the same address.
func (r *Receiver) Up() error {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("listen again on %s: %w", r.addr, err)
}

// Close stops the receiver.
func (r *Receiver) Close() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	_ = srv.Close()
}

func (r *Receiver) protocolError(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	if len(r.protoErrs) < 20 {
		r.protoErrs = append(r.protoErrs, msg)
	}
	r.mu.Unlock()
	// Elasticsearch's error shape.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": "illegal_argument_exception", "reason": msg}, "status": status})
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	known := false
	for _, p := range BulkPaths {
		known = known || req.URL.Path == p
	}
	if !known || req.URL.RawQuery != "" {
		r.protocolError(w, http.StatusNotFound, "%s %s: not an Elastic Bulk endpoint LogScale documents (%s)", req.Method, req.URL.RequestURI(), strings.Join(BulkPaths, ", "))
		return
	}
	if req.Method != http.MethodPost {
		r.protocolError(w, http.StatusMethodNotAllowed, "%s %s: only POST", req.Method, req.URL.Path)
		return
	}
	user, pass, ok := req.BasicAuth()
	if !ok || user != r.User || pass != r.Token {
		r.protocolError(w, http.StatusUnauthorized, "basic auth: want user %q with the ingest token, got user %q (token matches: %v)", r.User, user, pass == r.Token)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		r.protocolError(w, http.StatusBadRequest, "Content-Type %q: want application/x-ndjson", ct)
		return
	}
	body := io.Reader(req.Body)
	gz := false
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.protocolError(w, http.StatusBadRequest, "gzip: %v", err)
			return
		}
		body, gz = zr, true
	case "":
	default:
		r.protocolError(w, http.StatusBadRequest, "Content-Encoding %q", enc)
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		r.protocolError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	actions, docs, err := parseBulk(raw, r.Index)
	if err != nil {
		r.protocolError(w, http.StatusBadRequest, "bulk body: %v", err)
		return
	}

	r.mu.Lock()
	itemBytes := r.itemBytes
	r.requests++
	r.paths[req.URL.Path]++
	if gz {
		r.gzipped++
	}
	r.maxSeenBody = max(r.maxSeenBody, len(raw))
	if r.maxBody > 0 && len(raw) > r.maxBody {
		r.tooLarge++
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = fmt.Fprintf(w, `{"error":{"type":"request_too_large","reason":"request of %d bytes above %d"},"status":413}`, len(raw), r.maxBody)
		return
	}
	var statuses []int
	if r.rejectEvery > 0 {
		statuses = make([]int, len(docs))
	}
	for i, d := range docs {
		if statuses != nil {
			statuses[i] = http.StatusCreated
			r.rejectCount++
			if r.rejectCount%int64(r.rejectEvery) == 0 {
				statuses[i] = r.rejectStatuses[int(r.rejectCount/int64(r.rejectEvery))%len(r.rejectStatuses)]
				if r.rejected == nil {
					r.rejected = map[string]map[int64]bool{}
				}
				if r.rejected[d.Src] == nil {
					r.rejected[d.Src] = map[int64]bool{}
				}
				r.rejected[d.Src][d.Seq] = true
				continue
			}
		}
		m := r.seen[d.Src]
		if m == nil {
			m = map[int64]int{}
			r.seen[d.Src] = m
		}
		m[d.Seq]++
		if _, ok := r.samples[d.Src]; !ok {
			r.samples[d.Src] = d
		}
		r.docs++
	}
	r.lastDocAt = time.Now()
	r.mu.Unlock()

	reply := bulkReply(actions, r.Index, itemBytes, statuses)
	r.mu.Lock()
	r.maxReply = max(r.maxReply, len(reply))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(reply)
}

// parseBulk reads the NDJSON body: for every document an action line
// {"create"|"index": {"_index": index}} without a mapping type (the output
// suppresses it), then the document, a JSON object. The body ends with a
// newline; nothing else is allowed.
func parseBulk(raw []byte, index string) (actions []string, docs []Doc, err error) {
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return nil, nil, errors.New("the body must end with a newline")
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var action map[string]map[string]any
		if err := strictJSON(sc.Bytes(), &action); err != nil {
			return nil, nil, fmt.Errorf("line %d (action): %v", line, err)
		}
		if len(action) != 1 {
			return nil, nil, fmt.Errorf("line %d (action): want one of create, index; got %d keys", line, len(action))
		}
		for verb, meta := range action {
			if verb != "create" && verb != "index" {
				return nil, nil, fmt.Errorf("line %d: action %q (want create or index)", line, verb)
			}
			if meta["_index"] != index {
				return nil, nil, fmt.Errorf("line %d: _index %v, want %q (the repository)", line, meta["_index"], index)
			}
			if _, typed := meta["_type"]; typed {
				return nil, nil, fmt.Errorf("line %d: _type is set (suppress_type_name must remove it)", line)
			}
			actions = append(actions, verb)
		}
		if !sc.Scan() {
			return nil, nil, fmt.Errorf("line %d: an action without its document", line)
		}
		line++
		var src map[string]any
		if err := strictJSON(sc.Bytes(), &src); err != nil {
			return nil, nil, fmt.Errorf("line %d (document): %v", line, err)
		}
		d, err := docOf(src)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d (document): %v", line, err)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(docs) == 0 {
		return nil, nil, errors.New("no documents")
	}
	return actions, docs, nil
}

// strictJSON decodes exactly one JSON object.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// docOf picks what the scenarios check. The writer's JSON line is merged
// into the record by the kubernetes filter (merge_log), so seq and src are
// top-level fields.
func docOf(src map[string]any) (Doc, error) {
	var d Doc
	s, _ := src["src"].(string)
	n, ok := src["seq"].(json.Number)
	if s == "" || !ok {
		return d, fmt.Errorf("no src/seq fields (the log line was not merged): %.200v", src)
	}
	seq, err := n.Int64()
	if err != nil {
		return d, err
	}
	d.Src, d.Seq = s, seq
	d.Cluster, _ = src["cluster"].(string)
	_, d.HasMessage = src["msg"].(string)
	if k, ok := src["kubernetes"].(map[string]any); ok {
		d.Namespace, _ = k["namespace_name"].(string)
		d.Pod, _ = k["pod_name"].(string)
		d.Container, _ = k["container_name"].(string)
		if l, ok := k["labels"].(map[string]any); ok {
			d.PodLabels = map[string]string{}
			for key, v := range l {
				d.PodLabels[key], _ = v.(string)
			}
		}
	}
	return d, nil
}

// bulkReply is Elasticsearch's answer to a bulk request: one item per
// document, in order, each created (padded to about itemBytes) unless
// statuses gives it another status, which makes it a refused item and the
// reply's "errors" true.
func bulkReply(actions []string, index string, itemBytes int, statuses []int) []byte {
	var b bytes.Buffer
	failed := false
	for _, s := range statuses {
		failed = failed || s != http.StatusCreated
	}
	fmt.Fprintf(&b, `{"took":3,"errors":%t,"items":[`, failed)
	for i, verb := range actions {
		if i > 0 {
			b.WriteByte(',')
		}
		start := b.Len()
		if statuses != nil && statuses[i] != http.StatusCreated {
			// Elasticsearch's item for a refused document.
			fmt.Fprintf(&b, `{%q:{"_index":%q,"_id":"id-%d","status":%d,"error":{"type":"es_rejected_execution_exception","reason":"rejected by the receiver"}}}`, verb, index, i, statuses[i])
			continue
		}
		fmt.Fprintf(&b, `{%q:{"_index":%q,"_id":"id-%d","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":%d,"_primary_term":1,"status":201`, verb, index, i, i)
		if pad := itemBytes - (b.Len() - start) - len(`,"pad":""}}`); pad > 0 {
			b.WriteString(`,"pad":"`)
			b.WriteString(strings.Repeat("x", pad))
			b.WriteByte('"')
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// Stats is what the receiver saw so far.
type Stats struct {
	Requests, Docs, Gzipped int64
	// TooLarge counts the requests refused with 413; MaxBodyBytes is the
	// largest decompressed body of any request.
	TooLarge       int64
	MaxBodyBytes   int
	Paths          map[string]int64
	MaxReplyBytes  int
	ProtocolErrors []string
	LastDocAt      time.Time
}

// Stats returns a copy of the counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	paths := map[string]int64{}
	for k, v := range r.paths {
		paths[k] = v
	}
	return Stats{Requests: r.requests, Docs: r.docs, Gzipped: r.gzipped, Paths: paths, MaxReplyBytes: r.maxReply,
		ProtocolErrors: append([]string(nil), r.protoErrs...), LastDocAt: r.lastDocAt,
		TooLarge: r.tooLarge, MaxBodyBytes: r.maxSeenBody}
}

// Count returns, for stream src, how many distinct sequence numbers arrived
// and how many arrivals were repeats.
func (r *Receiver) Count(src string) (unique, duplicates int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.seen[src] {
		unique++
		duplicates += int64(n - 1)
	}
	return unique, duplicates
}

// Has reports whether sequence number seq of stream src arrived.
func (r *Receiver) Has(src string, seq int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[src][seq] > 0
}

// Missing lists the sequence numbers below n that did not arrive.
func (r *Receiver) Missing(src string, n int64) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for i := int64(0); i < n; i++ {
		if r.seen[src][i] == 0 {
			out = append(out, i)
		}
	}
	return out
}

// Sample returns the first document of stream src.
func (r *Receiver) Sample(src string) (Doc, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.samples[src]
	return d, ok
}

// Streams lists the streams that sent anything.
func (r *Receiver) Streams() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for s := range r.seen {
		out = append(out, s)
	}
	return out
}
