package local

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one long-running process of the cluster. It outlives the command
// that started it (own session); its PID is kept in the state directory.
type proc struct {
	name string
	bin  string
	args []string
	exit chan error // receives the exit status while this command runs
}

// start starts the process with its output in logs/<name>.log.
func (p paths) start(pr *proc) error {
	logf, err := os.OpenFile(p.log(pr.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(pr.bin, pr.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", pr.name, err)
	}
	pr.exit = make(chan error, 1)
	go func() { pr.exit <- cmd.Wait() }()
	return os.WriteFile(p.pid(pr.name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

// exitError says that a process of the cluster ended.
type exitError struct{ error }

// exited reports whether the process ended, with the end of its log.
func (p paths) exited(pr *proc) error {
	select {
	case err := <-pr.exit:
		pr.exit <- err
		return exitError{fmt.Errorf("%s exited (%v); last lines of %s:\n%s", pr.name, err, p.log(pr.name), logTail(p.log(pr.name), 15))}
	default:
		return nil
	}
}

func logTail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// running returns the PID of a process started by this state directory when
// it still runs the same binary.
func (p paths) running(name, bin string) (int, bool) {
	data, err := os.ReadFile(p.pid(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, isRunning(pid, bin)
}

// isRunning reports whether pid is alive and runs bin. A process is gone
// only once none of its threads runs: after exit_group, the thread group
// leader shows as a zombie while other threads still exit (and hold the
// process's files, sockets and mounts), and /proc/<pid>/exe cannot be read
// once the process has released its memory but not yet its files. `down`
// returned while containerd or kube-apiserver was in that state, about one
// run in three, when only the leader's state and exe were looked at.
func isRunning(pid int, bin string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // no such process
	}
	i := bytes.LastIndexByte(stat, ')')
	j := bytes.IndexByte(stat, '(')
	if i < 0 || j < 0 || len(stat) < i+3 {
		return false
	}
	comm := string(stat[j+1 : i])
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	switch {
	case err == nil && bin != "" && strings.TrimSuffix(exe, " (deleted)") != bin:
		return false // the PID is another program's now
	case err != nil && bin != "" && !strings.HasPrefix(filepath.Base(bin), comm):
		return false // no executable and another name: not ours
	}
	if stat[i+2] == 'Z' {
		return liveThreads(pid) > 0 // the leader is done; are the others?
	}
	return true
}

// liveThreads counts the threads of process pid that are not zombies.
func liveThreads(pid int) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	n := 0
	for _, t := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] != 'Z' && stat[i+2] != 'X' {
			n++
		}
	}
	return n
}

// stop sends SIGTERM to a process of this state directory, then SIGKILL
// after grace, and waits until it is gone.
func (p paths) stop(name, bin string, grace time.Duration) error {
	defer os.Remove(p.pid(name))
	pid, ok := p.running(name, bin)
	if !ok {
		return nil
	}
	return stopPID(pid, bin, grace)
}

func stopPID(pid int, bin string, grace time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, bin, grace) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, bin, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("process %d (%s) survived SIGKILL", pid, filepath.Base(bin))
}

func waitGone(pid int, bin string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !isRunning(pid, bin) {
			return true
		}
	}
	return !isRunning(pid, bin)
}
