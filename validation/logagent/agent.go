package logagent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BinaryEnv names the environment variable that points the tests at a
// Fluent Bit binary (a user with Fluent Bit installed runs the same tests);
// unset, the binary is ../shared/bin/fluent-bit beside the repository.
const (
	BinaryEnv  = "FLUENT_BIT_BINARY"
	ParsersEnv = "FLUENT_BIT_PARSERS"
)

// FindBinary returns the Fluent Bit binary and parsers file to test with,
// or an error of one line saying where it looked.
func FindBinary(repoRoot string) (bin, parsers string, err error) {
	shared, err := filepath.Abs(filepath.Join(repoRoot, "..", "shared", "bin"))
	if err != nil {
		return "", "", err
	}
	bin = os.Getenv(BinaryEnv)
	where := "$" + BinaryEnv + " (" + bin + ")"
	if bin == "" {
		bin = filepath.Join(shared, "fluent-bit")
		where = bin + " ($" + BinaryEnv + " is unset)"
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", "", fmt.Errorf("no Fluent Bit binary at %s: set $%s to a Fluent Bit v5.0.9 binary", where, BinaryEnv)
	}
	parsers = os.Getenv(ParsersEnv)
	if parsers == "" {
		parsers = filepath.Join(shared, "fluent-bit-parsers.conf")
	}
	if _, err := os.Stat(parsers); err != nil {
		return "", "", fmt.Errorf("no parsers file at %s: set $%s to the parsers.conf of the same Fluent Bit version", parsers, ParsersEnv)
	}
	return bin, parsers, nil
}

// Version runs `fluent-bit --version` and returns the version, e.g. 5.0.9.
func Version(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v: %s", bin, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Fluent Bit v"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s --version printed no version: %s", bin, out)
}

// FreePort returns a TCP port of 127.0.0.1 for a Fluent Bit HTTP server,
// free a moment ago. It is taken below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), from which every listener on port 0 (the
// receivers, httptest) and every outgoing connection draws: a port from that
// range, released for the agent to bind, was taken in between by a
// receiver of a parallel scenario (a CI run: the agent could not bind, and
// the scenario's health poll reached the other scenario's receiver). Ports
// are handed out once per process, starting at an offset of the process ID,
// so parallel test processes do not walk the same ports.
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	low, _ := ephemeralRange()
	const first = 10000
	if low <= first+1000 {
		return 0, fmt.Errorf("the ephemeral port range starts at %d; no room below it for the agents' ports", low)
	}
	span := low - first
	if portNext == 0 {
		portNext = first + (os.Getpid()*97)%span
	}
	for i := 0; i < span; i++ {
		p := portNext
		portNext++
		if portNext >= low {
			portNext = first
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port of 127.0.0.1 between %d and %d", first, low)
}

var (
	portMu   sync.Mutex
	portNext int
)

// ephemeralRange reads the kernel's range for port-0 listeners and outgoing
// connections, or Linux's default when it cannot.
func ephemeralRange() (low, high int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil {
				return l, h
			}
		}
	}
	return 32768, 60999
}

// Agent runs one Fluent Bit process at a time with one configuration; it
// can be stopped and started again on the same storage and tail database.
type Agent struct {
	Bin, Config, LogPath string
	Env                  []string
	// MetricsAddr is the HTTP server's host:port.
	MetricsAddr string
	// CPUShare, when above 0, gives the agent that share of one CPU, as a
	// CPU limit does (the kernel's CFS quota: a share of every 100 ms
	// period, then throttled): here the process is stopped (SIGSTOP) for
	// the rest of each 100 ms and continued (SIGCONT).
	CPUShare float64

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	peakKiB int64
	// peakAnonKiB is the highest anonymous (heap) part of the resident set:
	// what memory pressure cannot reclaim. The rest is mostly the chunk
	// files Fluent Bit maps.
	peakAnonKiB int64
	starts      int
	// cpuTicks is the CPU time (user and system, clock ticks) of the
	// runs that ended, runTicks that of the one running, as last sampled.
	cpuTicks, runTicks int64
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// Linux on every architecture the agent runs on.
const clockTicks = 100

// CPUSeconds is the CPU time the agent used over all its runs so far
// (every thread: /proc/<pid>/stat counts the whole process), sampled every
// 200 ms while it runs.
func (a *Agent) CPUSeconds() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return float64(a.cpuTicks+a.runTicks) / clockTicks
}

// readCPUTicks reads utime + stime of a process, in clock ticks.
func readCPUTicks(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	return u + s, err1 == nil && err2 == nil
}

// Start runs the agent and waits until its HTTP server answers.
func (a *Agent) Start() error {
	logf, err := os.OpenFile(a.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(a.Bin, "-c", a.Config)
	cmd.Env = append(os.Environ(), a.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	a.mu.Lock()
	a.cmd, a.exited, a.exitErr = cmd, exited, nil
	a.cpuTicks += a.runTicks
	a.runTicks = 0
	a.starts++
	a.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		a.mu.Lock()
		a.exitErr = err
		a.mu.Unlock()
		close(exited)
	}()
	go a.sampleRSS(cmd.Process.Pid, exited)
	if a.CPUShare > 0 && a.CPUShare < 1 {
		// A CPU request is a guarantee as well as a size: under contention
		// the kernel gives a container at least its request's weight
		// (cpu.weight from the request). The stop/continue cycle below only
		// caps the agent; a higher priority (nice -10) gives it its share of
		// each period when the other scenarios' writers and receivers
		// compete for the machine, as the request's weight would. Without
		// it the rotation scenario failed on a busy 2-core machine: the
		// capped agent got less than its share, fell behind by more than
		// rotate_wait and lost the rest of the run.
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -10); err != nil {
			fmt.Fprintf(os.Stderr, "logagent: cannot raise the capped agent's priority (%v): its share may fall below %.2f of a CPU on a busy machine\n", err, a.CPUShare)
		}
		go throttle(cmd.Process, a.CPUShare, exited)
	}

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("fluent-bit exited at start (%v); its log %s ends:\n%s", a.exitErr, a.LogPath, tail(a.LogPath, 20))
		default:
		}
		// Fluent Bit's root answers its build information,
		// {"fluent-bit":{"version":...}}: the agent, not another listener.
		if resp, err := http.Get("http://" + a.MetricsAddr + "/"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"fluent-bit"`) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("fluent-bit's HTTP server on %s did not answer within 30 s; its log %s ends:\n%s", a.MetricsAddr, a.LogPath, tail(a.LogPath, 20))
}

// throttle runs p for share of every 100 ms and stops it for the rest,
// until exited closes.
func throttle(p *os.Process, share float64, exited chan struct{}) {
	const period = 100 * time.Millisecond
	on := time.Duration(float64(period) * share)
	for {
		select {
		case <-exited:
			return
		case <-time.After(on):
		}
		_ = p.Signal(syscall.SIGSTOP)
		select {
		case <-exited:
			return
		case <-time.After(period - on):
		}
		_ = p.Signal(syscall.SIGCONT)
	}
}

// sampleRSS keeps the highest resident set size of the process: VmHWM,
// which the kernel tracks exactly, read until the process ends.
func (a *Agent) sampleRSS(pid int, exited chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		hwm, ok := readStatusKiB(pid, "VmHWM:")
		anon, ok2 := readStatusKiB(pid, "RssAnon:")
		ticks, ok3 := readCPUTicks(pid)
		a.mu.Lock()
		if ok3 {
			a.runTicks = max(a.runTicks, ticks)
		}
		if ok {
			a.peakKiB = max(a.peakKiB, hwm)
		}
		if ok2 {
			a.peakAnonKiB = max(a.peakAnonKiB, anon)
		}
		a.mu.Unlock()
		select {
		case <-exited:
			return
		case <-t.C:
		}
	}
}

func readStatusKiB(pid int, field string) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Running reports whether the process is alive.
func (a *Agent) Running() bool {
	a.mu.Lock()
	exited := a.exited
	a.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM, as the kubelet does, and waits for the agent to exit
// (SIGKILL after 30 s, like a pod's termination grace period).
func (a *Agent) Stop() error {
	a.mu.Lock()
	cmd, exited := a.cmd, a.exited
	a.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if kib, ok := readStatusKiB(cmd.Process.Pid, "VmHWM:"); ok {
		a.mu.Lock()
		a.peakKiB = max(a.peakKiB, kib)
		a.mu.Unlock()
	}
	select {
	case <-exited:
		return fmt.Errorf("fluent-bit had already exited: %v", a.exitErr)
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return errors.New("fluent-bit did not stop within 30 s of SIGTERM")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var ee *exec.ExitError
	if a.exitErr != nil && !errors.As(a.exitErr, &ee) {
		return a.exitErr
	}
	return nil
}

// Kill ends the process if it still runs (test cleanup).
func (a *Agent) Kill() {
	a.mu.Lock()
	cmd, exited := a.cmd, a.exited
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
	default:
		_ = cmd.Process.Kill()
		<-exited
	}
}

// PeakRSSMiB is the highest resident memory of any run of the agent.
func (a *Agent) PeakRSSMiB() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return float64(a.peakKiB) / 1024
}

// PeakAnonMiB is the highest anonymous resident memory seen (sampled every
// 200 ms).
func (a *Agent) PeakAnonMiB() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return float64(a.peakAnonKiB) / 1024
}

// Get fetches a path of the agent's HTTP server.
func (a *Agent) Get(path string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + a.MetricsAddr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Tail returns the last n lines of the agent's log.
func (a *Agent) Tail(n int) string { return tail(a.LogPath, n) }
