package auroratest

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Cluster endpoints: DescribeDBClusterEndpoints lists a cluster's writer
// and reader endpoints and its custom endpoints, which
// Create/Modify/DeleteDBClusterEndpoint manage. Each custom endpoint is a
// real proxy over its members (its static members, or every instance but
// its excluded ones; only readers for type READER), on the cluster's port
// at a loopback address of its own (127.0.0.3, 127.0.0.4, ...), as Aurora
// gives it a DNS name of its own on the cluster's port.

// customEndpoint is one custom cluster endpoint. Its fields are part of
// the state (see state.go).
type customEndpoint struct {
	id, arn, resourceID string
	cluster             *cluster
	kind                string // READER or ANY
	static, excluded    []string
	status              string
	address             string
	proxy               *proxy
	tags                tagList
}

func errEndpointNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "DBClusterEndpointNotFoundFault", "DBClusterEndpoint " + id + " not found."}
}

// endpoint finds a custom endpoint by identifier or ARN.
func (s *state) endpoint(e *Emulator, id string) (*customEndpoint, bool) {
	id = strings.ToLower(strings.TrimPrefix(id, e.arn("cluster-endpoint", "")))
	for _, c := range s.clusterOrder {
		for _, ep := range c.endpoints {
			if ep.id == id {
				return ep, true
			}
		}
	}
	return nil, false
}

// targets are the instances the endpoint forwards to now.
func (ep *customEndpoint) targets() []*instance {
	var out []*instance
	for _, in := range ep.cluster.members {
		if len(ep.static) > 0 && !slices.Contains(ep.static, in.id) || slices.Contains(ep.excluded, in.id) {
			continue
		}
		if ep.kind == "READER" && in.writer {
			continue
		}
		if in.status == statusAvailable && in.port != 0 {
			out = append(out, in)
		}
	}
	return out
}

// openEndpoint listens for a custom endpoint on the cluster's port at the
// next free loopback address.
func (e *Emulator) openEndpoint(ep *customEndpoint) error {
	var next atomic.Uint64
	pick := func() (string, string, bool) {
		st := e.lock()
		defer st.unlock()
		ts := ep.targets()
		if len(ts) == 0 {
			return "", "", false
		}
		in := ts[int(next.Add(1))%len(ts)]
		return in.id, hostPort(in.address, in.port), true
	}
	for host := 3; host < 255; host++ {
		addr := "127.0.0." + strconv.Itoa(host)
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(ep.cluster.port)))
		if err != nil {
			continue
		}
		ep.address, ep.proxy = addr, newProxy(ln, pick)
		return nil
	}
	return &apiError{http.StatusBadRequest, "DBClusterEndpointQuotaExceededFault", "No loopback address is free on the cluster's port for another endpoint."}
}

// closeEndpoints stops a deleted cluster's custom endpoints.
func (e *Emulator) closeEndpoints(st *state, c *cluster) {
	for _, ep := range c.endpoints {
		if ep.proxy != nil {
			go ep.proxy.close() // waits for forwarded connections: not under the state lock
		}
	}
	c.endpoints = nil
}

type xDBClusterEndpoint struct {
	DBClusterEndpointIdentifier         string `xml:",omitempty"`
	DBClusterIdentifier                 string
	DBClusterEndpointResourceIdentifier string `xml:",omitempty"`
	Endpoint                            string
	Status                              string
	EndpointType                        string
	CustomEndpointType                  string       `xml:",omitempty"`
	StaticMembers                       *xStringList `xml:",omitempty"`
	ExcludedMembers                     *xStringList `xml:",omitempty"`
	DBClusterEndpointArn                string       `xml:",omitempty"`
}

func (ep *customEndpoint) x() xDBClusterEndpoint {
	return xDBClusterEndpoint{DBClusterEndpointIdentifier: ep.id, DBClusterIdentifier: ep.cluster.id,
		DBClusterEndpointResourceIdentifier: ep.resourceID, Endpoint: ep.address, Status: ep.status, EndpointType: "CUSTOM",
		CustomEndpointType: ep.kind, StaticMembers: &xStringList{Items: ep.static}, ExcludedMembers: &xStringList{Items: ep.excluded},
		DBClusterEndpointArn: ep.arn}
}

type createEndpointIn struct {
	DBClusterIdentifier         string   `rds:",required"`
	DBClusterEndpointIdentifier string   `rds:",required"`
	EndpointType                string   `rds:",required"`
	StaticMembers               []string `rds:",list=member"`
	ExcludedMembers             []string `rds:",list=member"`
	tagsIn
}

// checkMembers validates an endpoint's type and member lists against its
// cluster.
func checkMembers(c *cluster, kind string, static, excluded []string) error {
	if kind != "READER" && kind != "ANY" {
		return errInvalidValue("Invalid EndpointType %q: use READER or ANY.", kind)
	}
	if len(static) > 0 && len(excluded) > 0 {
		return errInvalidCombination("Specify either StaticMembers or ExcludedMembers, not both.")
	}
	for _, id := range append(slices.Clone(static), excluded...) {
		if !slices.ContainsFunc(c.members, func(in *instance) bool { return in.id == id }) {
			return errInvalidValue("%s is not a DB instance of cluster %s.", id, c.id)
		}
	}
	return nil
}

func (e *Emulator) createDBClusterEndpoint(ctx context.Context, in *createEndpointIn) (any, error) {
	id := strings.ToLower(in.DBClusterEndpointIdentifier)
	if err := validName("DBClusterEndpointIdentifier", id, 63); err != nil {
		return nil, err
	}
	tags, err := newTagList(in.Tags)
	if err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	c, err := st.availableCluster(e, in.DBClusterIdentifier)
	if err != nil {
		return nil, err
	}
	if _, ok := st.endpoint(e, id); ok {
		return nil, &apiError{http.StatusBadRequest, "DBClusterEndpointAlreadyExistsFault", "DBClusterEndpoint " + id + " already exists."}
	}
	if err := checkMembers(c, in.EndpointType, in.StaticMembers, in.ExcludedMembers); err != nil {
		return nil, err
	}
	ep := &customEndpoint{id: id, arn: e.arn("cluster-endpoint", id), resourceID: "cluster-endpoint-" + randomUpper(26), cluster: c,
		kind: in.EndpointType, static: in.StaticMembers, excluded: in.ExcludedMembers, status: statusCreating, tags: tags}
	if err := e.openEndpoint(ep); err != nil {
		return nil, err
	}
	c.endpoints = append(c.endpoints, ep)
	e.event(st, sourceClusterEnpoint, id, "creation", "DB cluster endpoint created")
	x := ep.x()
	e.goBackground(st, func(ctx context.Context) {
		if !e.sleep(e.delay) {
			return
		}
		st := e.lock()
		defer st.unlock()
		if ep.status == statusCreating {
			ep.status = statusAvailable
		}
	})
	return x, nil
}

type modifyEndpointIn struct {
	DBClusterEndpointIdentifier string `rds:",required"`
	EndpointType                string
	StaticMembers               []string `rds:",list=member"`
	ExcludedMembers             []string `rds:",list=member"`
}

func (e *Emulator) modifyDBClusterEndpoint(ctx context.Context, in *modifyEndpointIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	ep, ok := st.endpoint(e, in.DBClusterEndpointIdentifier)
	if !ok {
		return nil, errEndpointNotFound(in.DBClusterEndpointIdentifier)
	}
	if ep.status != statusAvailable {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterEndpointStateFault", "DBClusterEndpoint " + ep.id + " is " + ep.status + "."}
	}
	kind, static, excluded := ep.kind, ep.static, ep.excluded
	if in.EndpointType != "" {
		kind = in.EndpointType
	}
	if in.StaticMembers != nil || in.ExcludedMembers != nil {
		static, excluded = in.StaticMembers, in.ExcludedMembers
	}
	if err := checkMembers(ep.cluster, kind, static, excluded); err != nil {
		return nil, err
	}
	ep.kind, ep.static, ep.excluded = kind, static, excluded
	return ep.x(), nil
}

type endpointIDIn struct {
	DBClusterEndpointIdentifier string `rds:",required"`
}

func (e *Emulator) deleteDBClusterEndpoint(ctx context.Context, in *endpointIDIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	ep, ok := st.endpoint(e, in.DBClusterEndpointIdentifier)
	if !ok {
		return nil, errEndpointNotFound(in.DBClusterEndpointIdentifier)
	}
	c := ep.cluster
	c.endpoints = slices.DeleteFunc(slices.Clone(c.endpoints), func(x *customEndpoint) bool { return x == ep })
	go ep.proxy.close()
	ep.status = statusDeleting
	e.event(st, sourceClusterEnpoint, ep.id, "deletion", "DB cluster endpoint deleted")
	return ep.x(), nil
}

type describeEndpointsIn struct {
	DBClusterIdentifier         string
	DBClusterEndpointIdentifier string
	listIn
}

var endpointFilters = filterSet[xDBClusterEndpoint]{
	"db-cluster-endpoint-type":        func(x xDBClusterEndpoint) []string { return []string{x.EndpointType} },
	"db-cluster-endpoint-custom-type": func(x xDBClusterEndpoint) []string { return []string{x.CustomEndpointType} },
	"db-cluster-endpoint-id":          func(x xDBClusterEndpoint) []string { return []string{x.DBClusterEndpointIdentifier} },
	"db-cluster-endpoint-status":      func(x xDBClusterEndpoint) []string { return []string{x.Status} },
}

func (e *Emulator) describeDBClusterEndpoints(ctx context.Context, in *describeEndpointsIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	clusters := st.clusterOrder
	if in.DBClusterIdentifier != "" {
		c, ok := st.cluster(e, in.DBClusterIdentifier)
		if !ok {
			return nil, errClusterNotFound(in.DBClusterIdentifier)
		}
		clusters = []*cluster{c}
	}
	var list []xDBClusterEndpoint
	for _, c := range clusters {
		if in.DBClusterEndpointIdentifier == "" {
			for _, kind := range []struct{ typ, host string }{{"WRITER", writerEndpointHost}, {"READER", readerEndpointHost}} {
				list = append(list, xDBClusterEndpoint{DBClusterIdentifier: c.id, Endpoint: kind.host, Status: statusAvailable, EndpointType: kind.typ})
			}
		}
		for _, ep := range c.endpoints {
			if in.DBClusterEndpointIdentifier == "" || ep.id == strings.ToLower(in.DBClusterEndpointIdentifier) {
				list = append(list, ep.x())
			}
		}
	}
	if in.DBClusterEndpointIdentifier != "" && len(list) == 0 {
		return nil, errEndpointNotFound(in.DBClusterEndpointIdentifier)
	}
	items, next, err := describe(list, endpointFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res struct {
		DBClusterEndpoints struct {
			Items []xDBClusterEndpoint `xml:"DBClusterEndpointList"`
		}
		Marker string `xml:",omitempty"`
	}
	res.DBClusterEndpoints.Items, res.Marker = items, next
	return res, nil
}
