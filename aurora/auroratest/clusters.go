package auroratest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// DB clusters: their state, their creation, and the actions on them.

func init() {
	register("DescribeDBClusters", (*Emulator).describeDBClusters)
	register("ModifyDBCluster", (*Emulator).modifyDBCluster)
}

const (
	defaultEngineVersion = "15.4"
	engineName           = "aurora-postgresql"
	instanceClass        = "db.r6g.large"
	maxInstances         = 16
	hostedZoneID         = "Z2R2ITUGPM61AM"
)

// Resource statuses.
const (
	statusAvailable      = "available"
	statusCreating       = "creating"
	statusModifying      = "modifying"
	statusRebooting      = "rebooting"
	statusIncompatParams = "incompatible-parameters"
	statusFailed         = "failed"
)

var availabilityZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// cluster is one emulated DB cluster. Its fields are part of the state
// (see state.go).
type cluster struct {
	id              string
	arn             string
	resourceID      string
	engineVersion   string
	family          string
	masterUser      string
	masterPassword  string
	databaseName    string
	clusterGroup    string
	backupRetention int
	status          string
	created         time.Time
	members         []*instance // in creation order

	writerProxy, readerProxy *proxy
	port                     int
	fenced                   bool // the writer endpoint refuses connections (failover in progress)

	secret       *secret // the master user's secret, with ManageMasterUserPassword
	secretStatus string  // MasterUserSecret.SecretStatus
	tags         tagList
}

func normalizeClusterSpecs(specs []clusterSpec) ([]clusterSpec, error) {
	seen := map[string]bool{}
	out := make([]clusterSpec, 0, len(specs))
	for _, s := range specs {
		id := strings.ToLower(s.id)
		field := fmt.Sprintf("WithCluster(%q)", s.id)
		if len(id) < 1 || len(id) > 52 {
			return nil, fmt.Errorf("auroratest: %s: the cluster identifier must be 1 to 52 characters (instance identifiers add \"-instance-N\")", field)
		}
		if err := validIdentifierChars("DBClusterIdentifier", id); err != nil {
			return nil, fmt.Errorf("auroratest: %s: %s", field, err.(*apiError).message)
		}
		if seen[id] {
			return nil, fmt.Errorf("auroratest: %s: the cluster is given twice", field)
		}
		seen[id] = true
		c := s.cfg
		if c.EngineVersion == "" {
			c.EngineVersion = defaultEngineVersion
		}
		if !familyRE.MatchString(familyFor(c.EngineVersion)) {
			return nil, fmt.Errorf("auroratest: %s: EngineVersion %q is not an aurora-postgresql version from 10 to 19 (like \"15.4\")", field, c.EngineVersion)
		}
		if c.MasterUsername == "" {
			c.MasterUsername = "postgres"
		}
		if err := validUsername(c.MasterUsername); err != nil {
			return nil, fmt.Errorf("auroratest: %s: MasterUsername %w", field, err)
		}
		switch {
		case c.ManageMasterUserPassword && c.MasterPassword != "":
			return nil, fmt.Errorf("auroratest: %s: MasterPassword must be empty with ManageMasterUserPassword: RDS generates the password and keeps it in Secrets Manager", field)
		case c.ManageMasterUserPassword:
			c.MasterPassword = generatePassword()
		case c.MasterPassword == "":
			c.MasterPassword = randomString(24)
		}
		if len(c.MasterPassword) < 8 || len(c.MasterPassword) > 128 || strings.ContainsAny(c.MasterPassword, "/\"@ \x00\n\r") {
			return nil, fmt.Errorf("auroratest: %s: MasterPassword must be 8 to 128 printable characters other than /, \", @ and space (as on Aurora)", field)
		}
		switch {
		case c.Instances == 0:
			c.Instances = 1
		case c.Instances < 0 || c.Instances > maxInstances:
			return nil, fmt.Errorf("auroratest: %s: Instances is %d; allowed: 1 to %d", field, c.Instances, maxInstances)
		}
		for _, g := range []struct{ field, name string }{
			{"ClusterParameterGroup", c.ClusterParameterGroup}, {"InstanceParameterGroup", c.InstanceParameterGroup},
		} {
			if g.name == "" || strings.HasPrefix(strings.ToLower(g.name), "default.") {
				continue
			}
			if err := validGroupName(g.field, strings.ToLower(g.name)); err != nil {
				return nil, fmt.Errorf("auroratest: %s: %s", field, err.(*apiError).message)
			}
		}
		if c.DatabaseName != "" {
			if len(c.DatabaseName) > 63 || !isLetter(c.DatabaseName[0]) || strings.ContainsFunc(c.DatabaseName, func(r rune) bool {
				return !(r < 128 && (isLetter(byte(r)) || r >= '0' && r <= '9' || r == '_'))
			}) {
				return nil, fmt.Errorf("auroratest: %s: DatabaseName %q must be 1 to 63 letters, digits or underscores, starting with a letter", field, c.DatabaseName)
			}
		}
		if c.CACertificateIdentifier != "" && !slices.Contains(caIDs, c.CACertificateIdentifier) {
			return nil, fmt.Errorf("auroratest: %s: CACertificateIdentifier %q is not one of %s", field, c.CACertificateIdentifier, strings.Join(caIDs, ", "))
		}
		out = append(out, clusterSpec{id: id, cfg: c})
	}
	return out, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func validUsername(u string) error {
	if len(u) > 63 || !isLetter(u[0]) {
		return errors.New("must be 1 to 63 characters and start with a letter")
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(isLetter(c) || c >= '0' && c <= '9' || c == '_') {
			return errors.New("may only hold letters, digits and underscores")
		}
	}
	if strings.HasPrefix(strings.ToLower(u), "rds") || strings.HasPrefix(strings.ToLower(u), "pg_") {
		return errors.New("must not start with rds or pg_ (reserved names)")
	}
	return nil
}

// registerCluster records a cluster and its instances (status creating),
// creating missing custom parameter groups and the endpoint proxies.
func (e *Emulator) registerCluster(s clusterSpec) (*cluster, error) {
	cfg := s.cfg
	family := familyFor(cfg.EngineVersion)
	st := e.lock()
	defer st.unlock()
	if _, ok := st.clusters[s.id]; ok {
		return nil, fmt.Errorf("auroratest: cluster %q already exists", s.id)
	}
	st.ensureDefaultGroups(family)
	resolve := func(k groupKind, name string) (string, error) {
		if name == "" {
			return defaultGroupName(family), nil
		}
		name = strings.ToLower(name)
		g, ok := st.group(e, k, name)
		if !ok {
			g = &paramGroup{kind: k, name: name, family: family, values: map[string]groupValue{},
				description: "Created by auroratest for cluster " + s.id}
			st.groups(k)[name] = g
		}
		if g.family != family {
			return "", fmt.Errorf("auroratest: cluster %q: parameter group %s is of family %s, not %s", s.id, name, g.family, family)
		}
		return name, nil
	}
	cg, err := resolve(clusterKind, cfg.ClusterParameterGroup)
	if err != nil {
		return nil, err
	}
	ig, err := resolve(instanceKind, cfg.InstanceParameterGroup)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	c := &cluster{
		id: s.id, arn: e.arn("cluster", s.id), resourceID: "cluster-" + randomUpper(26), engineVersion: cfg.EngineVersion, family: family,
		masterUser: cfg.MasterUsername, masterPassword: cfg.MasterPassword, databaseName: cfg.DatabaseName,
		clusterGroup: cg, backupRetention: 1, status: statusCreating, created: now,
	}
	for i := 0; i < cfg.Instances; i++ {
		id := fmt.Sprintf("%s-instance-%d", s.id, i+1)
		if _, ok := st.instances[id]; ok {
			return nil, fmt.Errorf("auroratest: cluster %q: DB instance %s already exists", s.id, id)
		}
		in := &instance{
			id: id, arn: e.arn("db", id), resourceID: "db-" + randomUpper(26), sessionID: newRequestID(), cluster: c, index: i, writer: i == 0,
			promotionTier: i, instanceGroup: ig, status: statusCreating,
			clusterGroupStatus: statusInSync, instanceGroupStatus: statusInSync,
			az: availabilityZones[i%len(availabilityZones)], created: now,
			dir: filepath.Join(e.dir, id),
		}
		ca := cfg.CACertificateIdentifier
		if ca == "" {
			ca = st.defaultCA()
		}
		if err := e.issue(st, in, ca); err != nil {
			return nil, err
		}
		c.members = append(c.members, in)
	}
	if err := e.startProxies(c); err != nil {
		return nil, err
	}
	if cfg.ManageMasterUserPassword {
		e.createManagedSecret(st, c)
	}
	st.clusters[c.id] = c
	st.clusterOrder = append(st.clusterOrder, c)
	for _, in := range c.members {
		st.instances[in.id] = in
	}
	return c, nil
}

// startCluster starts the writer, prepares it as Aurora would (roles,
// database), then starts the readers as streaming replicas.
func (e *Emulator) startCluster(ctx context.Context, c *cluster) error {
	w := c.members[0]
	st := e.lock()
	want := e.desired(st, w)
	wtls := w.tls
	st.unlock()
	settings, preload := splitPreload(want)
	srv, err := pgserver.Start(ctx, pgserver.Config{
		Dir: w.dir, Superuser: c.masterUser, Password: c.masterPassword,
		PreloadLibraries: preload, Settings: settings, TLS: wtls,
	})
	if err != nil {
		return fmt.Errorf("auroratest: starting the writer of cluster %s: %w", c.id, err)
	}
	e.log.Debug("auroratest: writer started", "cluster", c.id)
	st = e.lock()
	w.server, w.port, w.applied = srv, srv.Port(), want
	st.unlock()
	if err := prepareWriter(ctx, srv, c); err != nil {
		return fmt.Errorf("auroratest: preparing the writer of cluster %s: %w", c.id, err)
	}
	e.log.Debug("auroratest: writer prepared", "cluster", c.id)

	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, r := range c.members[1:] {
		st := e.lock()
		want := e.desired(st, r)
		rtls := r.tls
		st.unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			settings, preload := splitPreload(want)
			rs, err := srv.StartReplica(ctx, pgserver.Config{Dir: r.dir, PreloadLibraries: preload, Settings: settings, TLS: rtls})
			if err != nil {
				errs[i] = fmt.Errorf("auroratest: starting reader %s: %w", r.id, err)
				return
			}
			e.log.Debug("auroratest: reader started", "instance", r.id)
			applied := rs.Settings()
			applied[paramPreload] = strings.Join(preload, ",")
			st := e.lock()
			r.server, r.port, r.applied = rs, rs.Port(), applied
			st.unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	st = e.lock()
	c.status = statusAvailable
	for _, in := range c.members {
		in.status = statusAvailable
	}
	st.unlock()
	return nil
}

// prepareWriter creates what Aurora has on a new cluster: the
// rds_superuser and rds_replication roles, granted to the master user, the
// topology functions (in template1 and postgres), and the initial
// database.
func prepareWriter(ctx context.Context, srv *pgserver.Server, c *cluster) error {
	for _, db := range []string{"template1", "postgres"} {
		if err := execAll(ctx, srv, db, topologySQL); err != nil {
			return fmt.Errorf("creating the topology functions in %s: %w", db, err)
		}
	}
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	master, err := sqlquote.Ident(c.masterUser)
	if err != nil {
		return err
	}
	stmts := []string{
		"CREATE ROLE rds_superuser NOLOGIN",
		"CREATE ROLE rds_replication NOLOGIN",
		"GRANT rds_superuser TO " + master + " WITH ADMIN OPTION",
		"GRANT rds_replication TO " + master + " WITH ADMIN OPTION",
	}
	if c.databaseName != "" {
		db, err := sqlquote.Ident(c.databaseName)
		if err != nil {
			return err
		}
		stmts = append(stmts, "CREATE DATABASE "+db)
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// execAll runs statements in one database.
func execAll(ctx context.Context, srv *pgserver.Server, db string, stmts []string) error {
	conn, err := pgx.Connect(ctx, srv.ConnString(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) writer() *instance {
	for _, in := range c.members {
		if in.writer {
			return in
		}
	}
	return nil
}

func (c *cluster) readers() []*instance {
	var out []*instance
	for _, in := range c.members {
		if !in.writer {
			out = append(out, in)
		}
	}
	return out
}

const timeFormat = "2006-01-02T15:04:05.000Z"

func (e *Emulator) xCluster(st *state, c *cluster) xDBCluster {
	now := time.Now().UTC()
	x := xDBCluster{
		AllocatedStorage:           1,
		AvailabilityZones:          xAvailabilityZones{Items: availabilityZones},
		BackupRetentionPeriod:      int32(c.backupRetention),
		DatabaseName:               c.databaseName,
		DBClusterIdentifier:        c.id,
		DBClusterParameterGroup:    c.clusterGroup,
		DBSubnetGroup:              "default",
		Status:                     c.status,
		EarliestRestorableTime:     c.created.Format(timeFormat),
		Endpoint:                   writerEndpointHost,
		ReaderEndpoint:             readerEndpointHost,
		MultiAZ:                    len(c.members) > 1,
		Engine:                     engineName,
		EngineVersion:              c.engineVersion,
		LatestRestorableTime:       now.Add(-5 * time.Minute).Format(timeFormat),
		Port:                       int32(c.port),
		MasterUsername:             c.masterUser,
		PreferredBackupWindow:      "07:00-07:30",
		PreferredMaintenanceWindow: "sun:08:00-sun:08:30",
		HostedZoneId:               hostedZoneID,
		DbClusterResourceId:        c.resourceID,
		DBClusterArn:               c.arn,
		ClusterCreateTime:          c.created.Format(timeFormat),
		EngineMode:                 "provisioned",
		StorageType:                "aurora",
		NetworkType:                "IPV4",
		MasterUserSecret:           e.xMasterUserSecret(c),
	}
	for _, in := range c.members {
		x.DBClusterMembers.Items = append(x.DBClusterMembers.Items, xDBClusterMember{
			DBInstanceIdentifier: in.id, IsClusterWriter: in.writer,
			DBClusterParameterGroupStatus: in.clusterGroupStatus, PromotionTier: int32(in.promotionTier),
		})
	}
	return x
}

type describeClustersIn struct {
	DBClusterIdentifier string
	IncludeShared       bool
	listIn
}

// clusterFilters are DescribeDBClusters' filters.
var clusterFilters = filterSet[*cluster]{
	"db-cluster-id":          func(c *cluster) []string { return []string{c.id, c.arn} },
	"db-cluster-resource-id": func(c *cluster) []string { return []string{c.resourceID} },
	"engine":                 func(c *cluster) []string { return []string{engineName} },
	"engine-version":         func(c *cluster) []string { return []string{c.engineVersion} },
	"db-instance-id":         func(c *cluster) []string { return c.memberIDs() },
}

func (c *cluster) memberIDs() []string {
	var out []string
	for _, in := range c.members {
		out = append(out, in.id, in.arn)
	}
	return out
}

func (e *Emulator) describeDBClusters(ctx context.Context, in *describeClustersIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	list := st.clusterOrder
	if in.DBClusterIdentifier != "" {
		c, ok := st.cluster(e, in.DBClusterIdentifier)
		if !ok {
			return nil, errClusterNotFound(in.DBClusterIdentifier)
		}
		list = []*cluster{c}
	}
	items, next, err := describe(list, clusterFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res xDescribeDBClustersResult
	res.Marker = next
	for _, c := range items {
		res.DBClusters.Items = append(res.DBClusters.Items, e.xCluster(st, c))
	}
	return res, nil
}

type modifyClusterIn struct {
	DBClusterIdentifier         string `rds:",required"`
	DBClusterParameterGroupName string
	BackupRetentionPeriod       *int
	ApplyImmediately            bool
}

// modifyDBCluster changes the cluster parameter group and the backup
// retention period. The cluster is "modifying" for the transition delay;
// then a new parameter group is associated (members pending-reboot) and
// the retention period changes. Aurora applies both regardless of
// ApplyImmediately.
func (e *Emulator) modifyDBCluster(ctx context.Context, in *modifyClusterIn) (any, error) {
	if r := in.BackupRetentionPeriod; r != nil && (*r < 1 || *r > 35) {
		return nil, errInvalidValue("Invalid backup retention period: %d. The backup retention period must be between 1 and 35 days for Aurora DB clusters.", *r)
	}
	groupName := strings.ToLower(in.DBClusterParameterGroupName)
	st := e.lock()
	defer st.unlock()
	c, ok := st.cluster(e, in.DBClusterIdentifier)
	if !ok {
		return nil, errClusterNotFound(in.DBClusterIdentifier)
	}
	if groupName != "" {
		g, ok := st.group(e, clusterKind, groupName)
		if !ok {
			return nil, &apiError{http.StatusNotFound, "DBClusterParameterGroupNotFound", "DBClusterParameterGroup not found: " + groupName}
		}
		if g.family != c.family {
			return nil, errInvalidCombination("The DB cluster parameter group %s is of family %s; cluster %s needs family %s.", g.name, g.family, c.id, c.family)
		}
		if g.name == c.clusterGroup {
			groupName = ""
		}
	}
	if in.BackupRetentionPeriod == nil && groupName == "" {
		return nil, errInvalidCombination("No modifications were requested")
	}
	if c.status != statusAvailable {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	c.status = statusModifying
	x := e.xCluster(st, c)
	retention := in.BackupRetentionPeriod
	e.goBackground(st, func(ctx context.Context) {
		if !e.sleep(e.delay) {
			return
		}
		st := e.lock()
		defer st.unlock()
		if groupName != "" {
			c.clusterGroup = groupName
			for _, in := range c.members {
				in.clusterGroupStatus = statusPendingReboot
				in.pendingGen++
			}
		}
		if retention != nil {
			c.backupRetention = *retention
		}
		c.status = statusAvailable
	})
	return xDBClusterResult{DBCluster: x}, nil
}
