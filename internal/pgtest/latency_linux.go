package pgtest

import (
	"errors"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// On Linux each direction of a proxied connection is one event loop on a
// thread of its own: ppoll waits for data or for the next chunk to become
// due, so that no Go timer, netpoller wake-up or goroutine hand-off sits
// between the data and its delivery. The thread runs with a 1 ns timer
// slack and, where allowed (as root), at real-time priority, so that a
// busy machine does not delay its wake-ups; it never spins.

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const (
	pollIn  = 0x1
	pollOut = 0x4
	pollErr = 0x8
	pollHup = 0x10
)

// delayPipe copies src to dst, each chunk oneWay after it was read, until
// src ends (then it shuts dst's write side) or stop is closed.
func delayPipe(dst, src net.Conn, oneWay time.Duration, stop <-chan struct{}) {
	sc, ok1 := src.(syscall.Conn)
	dc, ok2 := dst.(syscall.Conn)
	if !ok1 || !ok2 {
		goroutinePipe(dst, src, oneWay)
		return
	}
	sraw, err1 := sc.SyscallConn()
	draw, err2 := dc.SyscallConn()
	if err1 != nil || err2 != nil {
		goroutinePipe(dst, src, oneWay)
		return
	}
	// The thread's settings are put back before the runtime may reuse it.
	// It must not end with the goroutine (as a locked thread does): a
	// child process started with Pdeathsig from that thread, as pgserver
	// starts postmasters, would be killed with it.
	runtime.LockOSThread()
	restore := preciseThread()
	defer func() {
		restore()
		runtime.UnlockOSThread()
	}()
	_ = sraw.Control(func(sfd uintptr) {
		_ = draw.Control(func(dfd uintptr) { delayLoop(int(dfd), int(sfd), oneWay, stop) })
	})
}

// delayLoop is delayPipe's loop on the two descriptors (non-blocking, as
// Go opens them).
func delayLoop(dfd, sfd int, oneWay time.Duration, stop <-chan struct{}) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	var queue []chunk
	buf := make([]byte, 64<<10)
	eof, blocked := false, false
	for {
		// Write what is due.
		for len(queue) > 0 && !blocked && !time.Now().Before(queue[0].at) {
			n, err := syscall.Write(dfd, queue[0].data)
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
				blocked = true
				continue
			case err != nil:
				return // the peer went away
			}
			queue[0].data = queue[0].data[n:]
			if len(queue[0].data) == 0 {
				queue = queue[1:]
			}
		}
		if eof && len(queue) == 0 {
			_ = syscall.Shutdown(dfd, syscall.SHUT_WR)
			return
		}
		select {
		case <-stop:
			return
		default:
		}
		var fds []pollFd
		if !eof {
			fds = append(fds, pollFd{fd: int32(sfd), events: pollIn})
		}
		if blocked {
			fds = append(fds, pollFd{fd: int32(dfd), events: pollOut})
		}
		wait := 100 * time.Millisecond // to notice stop
		if len(queue) > 0 && !blocked {
			wait = min(wait, max(time.Until(queue[0].at), 0))
		}
		ts := syscall.NsecToTimespec(int64(wait))
		var p unsafe.Pointer
		if len(fds) > 0 {
			p = unsafe.Pointer(&fds[0])
		}
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(p), uintptr(len(fds)), uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno != 0 && errno != syscall.EINTR {
			return
		}
		blocked = false // try the write again
		if !eof && len(fds) > 0 && fds[0].revents&(pollIn|pollErr|pollHup) != 0 {
			n, err := syscall.Read(sfd, buf)
			switch {
			case n > 0:
				queue = append(queue, chunk{time.Now().Add(oneWay), append([]byte(nil), buf[:n]...)})
			case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			default: // end of stream or an error: deliver what is queued, then end
				eof = true
			}
		}
	}
}

// preciseThread sets the calling thread's timer slack to 1 ns (50 µs by
// default) and, when allowed, its scheduling to real-time (SCHED_FIFO,
// the lowest priority), and returns a func that puts both back. Call both
// on the same locked thread.
func preciseThread() (restore func()) {
	const prSetTimerslack = 29
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0)
	const schedOther, schedFIFO = 0, 1
	prio := int32(1)
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedFIFO, uintptr(unsafe.Pointer(&prio)))
	realtime := errno == 0
	return func() {
		if realtime {
			prio := int32(0)
			_, _, _ = syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, schedOther, uintptr(unsafe.Pointer(&prio)))
		}
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 0, 0) // 0: the default
	}
}
