package auroratest

import (
	"context"
	"strings"
	"sync"
)

// The emulator's state, apart from the HTTP layer: what it knows about its
// resources, and how that knowledge is locked.
//
// Two kinds of lock exist, and the types say which one a piece of code
// holds:
//
//   - *state is everything the API reads and changes (clusters, instances,
//     parameter groups, snapshots, endpoints, tags, events, secrets). It is
//     only handed out by Emulator.lock, which takes the state lock, and
//     given back with state.unlock; the fields of cluster, instance,
//     paramGroup, snapshot, customEndpoint and secret are part of it. A
//     function that takes a *state runs with the lock held, and so must not
//     wait for anything slow: a server, the network, or an opLock.
//   - opLock serializes the slow operations on one instance's server
//     (start, stop, restart, reload, rebuild). It is taken without the
//     state lock held (a function that has a *state cannot take one:
//     opLock.lock takes no *state, and its callers take the state lock
//     after it), and several at once in member order (lockMembers).

// state is the emulator's resources; see above for its lock.
type state struct {
	mu *sync.Mutex // the lock this state is handed out under

	closed         bool // Close has begun: no new background work
	piSampling     bool // the Performance Insights sampler runs (see pi.go)
	clusterGroups  map[string]*paramGroup
	instanceGroups map[string]*paramGroup
	clusters       map[string]*cluster
	clusterOrder   []*cluster
	instances      map[string]*instance
	caOverride     string // ModifyCertificates' default for new launches
	secrets        []*secret
	snapshots      map[string]*snapshot // by lower-case identifier
	snapshotOrder  []*snapshot
	events         []event
}

// lock takes the state lock and returns the state it guards.
func (e *Emulator) lock() *state {
	e.stateMu.Lock()
	return &e.st
}

// unlock gives the state back; s must not be used after it.
func (s *state) unlock() { s.mu.Unlock() }

// opLock serializes the operations on one instance's server. Take it
// before the state lock, never while holding a *state.
type opLock struct{ mu sync.Mutex }

func (l *opLock) lock()   { l.mu.Lock() }
func (l *opLock) unlock() { l.mu.Unlock() }

// lockMembers takes every member's opLock in member order and returns the
// function that releases them. The member list is read under the state
// lock, which is released before the opLocks are taken.
func (e *Emulator) lockMembers(c *cluster) func() {
	st := e.lock()
	members := append([]*instance(nil), c.members...)
	st.unlock()
	for _, in := range members {
		in.ops.lock()
	}
	return func() {
		for _, in := range members {
			in.ops.unlock()
		}
	}
}

// goBackground runs f in the background, bounded by the emulator's life:
// f's context ends at Close, which waits for f to return. After Close has
// begun it does nothing.
func (e *Emulator) goBackground(st *state, f func(ctx context.Context)) {
	if st.closed {
		return
	}
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		f(e.ctx)
	}()
}

// cluster finds a cluster by identifier or ARN.
func (s *state) cluster(e *Emulator, id string) (*cluster, bool) {
	id = strings.ToLower(strings.TrimPrefix(id, e.arn("cluster", "")))
	c, ok := s.clusters[id]
	return c, ok
}

// instance finds an instance by identifier or ARN.
func (s *state) instance(e *Emulator, id string) (*instance, bool) {
	id = strings.ToLower(strings.TrimPrefix(id, e.arn("db", "")))
	in, ok := s.instances[id]
	return in, ok
}

// availableCluster finds a cluster that must be available for what the
// caller does, answering as RDS does when it is unknown or busy.
func (s *state) availableCluster(e *Emulator, id string) (*cluster, error) {
	c, ok := s.cluster(e, id)
	if !ok {
		return nil, errClusterNotFound(id)
	}
	if c.status != statusAvailable {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	return c, nil
}
