package logagent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
	// Rotation, when set, rotates Path the way the kubelet does.
	Rotation *Rotation

	written   atomic.Int64
	rotations atomic.Int64
}

// Rotation is how the kubelet rotates a container's log
// (kubernetes pkg/kubelet/logs/container_log_manager.go, rotateLog): every
// CheckEvery (containerLogMonitorInterval, default 10 s) it looks at the
// current file; above MaxBytes (containerLogMaxSize, default 10 MiB) it
// compresses every rotated file not yet compressed (the .gz replaces it:
// the file is deleted), keeps at most MaxFiles (containerLogMaxFiles,
// default 5, the current one included), renames the current file to
// <path>.<timestamp> and has the runtime reopen the path as a new file.
// The .gz files are not written: no agent reads them, and what matters to
// the agent is that the uncompressed file is gone.
type Rotation struct {
	MaxBytes   int64
	MaxFiles   int
	CheckEvery time.Duration
}

// KubeletRotation is the kubelet's default.
var KubeletRotation = Rotation{MaxBytes: 10 << 20, MaxFiles: 5, CheckEvery: 10 * time.Second}

// NewRotatingWriter lays out a container's log as the kubelet does: the
// runtime writes <podsDir>/<namespace>_<pod>_<uid>/<container>/0.log, and
// <logDir>/<FileName> (what the agent tails) is a symlink to it.
func NewRotatingWriter(logDir, podsDir string, c ContainerLog, src string, lineBytes int, rot Rotation) (*Writer, error) {
	dir := filepath.Join(podsDir, c.Namespace+"_"+c.Pod+"_0000-uid", c.Container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "0.log")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := os.Symlink(p, filepath.Join(logDir, c.FileName())); err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{Path: p, Src: src, LineBytes: lineBytes, Rotation: &rot}, f.Close()
}

// Rotations is how many times the file was rotated.
func (w *Writer) Rotations() int64 { return w.rotations.Load() }

// rotate runs one rotation of the kubelet's (see Rotation) if the file is
// due, and returns the file to write to next.
func (w *Writer) rotate(f *os.File) (*os.File, error) {
	st, err := f.Stat()
	if err != nil || st.Size() < w.Rotation.MaxBytes {
		return f, err
	}
	rotated, err := filepath.Glob(w.Path + ".*")
	if err != nil {
		return f, err
	}
	sort.Strings(rotated) // timestamps sort by time
	var kept []string
	for _, r := range rotated {
		if strings.HasSuffix(r, ".gz") {
			kept = append(kept, r)
			continue
		}
		// Compressed: the .gz stands in for it, the file itself goes.
		if err := os.Remove(r); err != nil {
			return f, err
		}
		if err := os.WriteFile(r+".gz", nil, 0o644); err != nil {
			return f, err
		}
		kept = append(kept, r+".gz")
	}
	sort.Strings(kept)
	for len(kept) > w.Rotation.MaxFiles-2 {
		if err := os.Remove(kept[0]); err != nil {
			return f, err
		}
		kept = kept[1:]
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(w.Path, w.Path+"."+time.Now().UTC().Format("20060102-150405.000000")); err != nil {
		return nil, err
	}
	w.rotations.Add(1)
	return os.OpenFile(w.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
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
	defer func() { f.Close() }()
	bw := bufio.NewWriterSize(f, 1<<20)
	start := time.Now()
	lastCheck := start
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
		if w.Rotation != nil && now.Sub(lastCheck) >= w.Rotation.CheckEvery {
			lastCheck = now
			if f, err = w.rotate(f); err != nil {
				return fmt.Errorf("rotate %s: %w", w.Path, err)
			}
			bw.Reset(f)
		}
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
