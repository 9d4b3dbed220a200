package logagent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// ContainerLog names a container's log file the way the kubelet links it
// into /var/log/containers: <pod>_<namespace>_<container>-<container id>.log.
// The kubernetes filter takes pod, namespace and container from this name.
type ContainerLog struct {
	Pod, Namespace, Container string
}

// FileName is the file's base name, with a fixed 64-hex container ID.
func (c ContainerLog) FileName() string {
	return fmt.Sprintf("%s_%s_%s-%s.log", c.Pod, c.Namespace, c.Container, strings.Repeat("0123456789abcdef", 4))
}

// Writer appends container log lines to one file in the CRI format the
// container runtime writes ("<RFC 3339 time> stdout F <line>"), each line a
// JSON object carrying the stream name and a sequence number from 0, padded
// so that the whole line in the file is LineBytes long.
type Writer struct {
	Path      string
	Src       string
	LineBytes int

	written atomic.Int64
}

// NewWriter creates (empty) the log file of c in dir.
func NewWriter(dir string, c ContainerLog, src string, lineBytes int) (*Writer, error) {
	p := filepath.Join(dir, c.FileName())
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Writer{Path: p, Src: src, LineBytes: lineBytes}, f.Close()
}

// Written is how many lines are completely in the file.
func (w *Writer) Written() int64 { return w.written.Load() }

// line renders line seq.
func (w *Writer) line(seq int64, now time.Time) string {
	prefix := now.UTC().Format("2006-01-02T15:04:05.000000000Z") + " stdout F "
	body := fmt.Sprintf(`{"seq":%d,"src":%q,"level":"info","msg":"request served`, seq, w.Src)
	pad := w.LineBytes - len(prefix) - len(body) - len(`"}`) - 1
	if pad > 0 {
		body += " " + strings.Repeat("x", pad-1)
	}
	return prefix + body + "\"}\n"
}

// Run writes rate lines per second for d (or until ctx ends). Lines are
// flushed every 20 ms, so the file only ever holds whole lines.
func (w *Writer) Run(ctx context.Context, rate int, d time.Duration) error {
	f, err := os.OpenFile(w.Path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	start := time.Now()
	first := w.written.Load()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		elapsed := now.Sub(start)
		due := first + int64(elapsed.Seconds()*float64(rate))
		if elapsed >= d {
			due = first + int64(d.Seconds()*float64(rate))
		}
		n := w.written.Load()
		for seq := n; seq < due; seq++ {
			if _, err := bw.WriteString(w.line(seq, now)); err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		w.written.Store(due)
		if elapsed >= d {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
