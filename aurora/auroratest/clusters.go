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

// DB clusters and DB instances: their state, their creation, and the
// Describe/Modify actions on them.

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

// cluster is one emulated DB cluster. Its fields are guarded by
// Emulator.mu.
type cluster struct {
	id              string
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
}

// instance is one emulated DB instance: a PostgreSQL server. Fields are
// guarded by Emulator.mu; opMu serializes operations on the server
// (restart, reload). Lock order: opMu before Emulator.mu, and several
// opMu in members order.
type instance struct {
	id                  string
	resourceID          string
	sessionID           string // reported by aurora_replica_status() while a reader
	cluster             *cluster
	index               int // position in cluster.members
	writer              bool
	promotionTier       int
	instanceGroup       string
	status              string
	clusterGroupStatus  string
	instanceGroupStatus string
	pendingGen          uint64 // bumped whenever a change waits for a reboot
	az                  string
	created             time.Time
	dir                 string
	server              *pgserver.Server
	port                int
	applied             map[string]string // the settings the server runs with (see settings.go)
	ca                  string            // the CA of the server certificate
	pendingCA           string            // a CA change waiting for the next reboot
	tls                 *pgserver.TLS
	certValidTill       time.Time

	opMu sync.Mutex
}

// logPath is the instance's PostgreSQL log; it survives restarts and
// rebuilds of the server.
func (in *instance) logPath() string { return filepath.Join(in.dir, "server.log") }

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
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.clusters[s.id]; ok {
		return nil, fmt.Errorf("auroratest: cluster %q already exists", s.id)
	}
	e.ensureDefaultGroupsLocked(family)
	resolve := func(k groupKind, name string) (string, error) {
		if name == "" {
			return defaultGroupName(family), nil
		}
		name = strings.ToLower(name)
		g, ok := e.lookupGroupLocked(k, name)
		if !ok {
			g = &paramGroup{kind: k, name: name, family: family, values: map[string]groupValue{},
				description: "Created by auroratest for cluster " + s.id}
			e.groups(k)[name] = g
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
		id: s.id, resourceID: "cluster-" + randomUpper(26), engineVersion: cfg.EngineVersion, family: family,
		masterUser: cfg.MasterUsername, masterPassword: cfg.MasterPassword, databaseName: cfg.DatabaseName,
		clusterGroup: cg, backupRetention: 1, status: statusCreating, created: now,
	}
	for i := 0; i < cfg.Instances; i++ {
		id := fmt.Sprintf("%s-instance-%d", s.id, i+1)
		if _, ok := e.instances[id]; ok {
			return nil, fmt.Errorf("auroratest: cluster %q: DB instance %s already exists", s.id, id)
		}
		in := &instance{
			id: id, resourceID: "db-" + randomUpper(26), sessionID: newRequestID(), cluster: c, index: i, writer: i == 0,
			promotionTier: i, instanceGroup: ig, status: statusCreating,
			clusterGroupStatus: statusInSync, instanceGroupStatus: statusInSync,
			az: availabilityZones[i%len(availabilityZones)], created: now,
			dir: filepath.Join(e.dir, id),
		}
		ca := cfg.CACertificateIdentifier
		if ca == "" {
			ca = e.defaultCALocked()
		}
		if err := e.issueLocked(in, ca); err != nil {
			return nil, err
		}
		c.members = append(c.members, in)
	}
	if err := e.startProxies(c); err != nil {
		return nil, err
	}
	if cfg.ManageMasterUserPassword {
		e.createManagedSecretLocked(c)
	}
	e.clusters[c.id] = c
	e.clusterOrder = append(e.clusterOrder, c)
	for _, in := range c.members {
		e.instances[in.id] = in
	}
	return c, nil
}

// startCluster starts the writer, prepares it as Aurora would (roles,
// database), then starts the readers as streaming replicas.
func (e *Emulator) startCluster(ctx context.Context, c *cluster) error {
	w := c.members[0]
	e.mu.Lock()
	want := e.desiredLocked(w)
	wtls := w.tls
	e.mu.Unlock()
	settings, preload := splitPreload(want)
	srv, err := pgserver.Start(ctx, pgserver.Config{
		Dir: w.dir, Superuser: c.masterUser, Password: c.masterPassword,
		PreloadLibraries: preload, Settings: settings, TLS: wtls,
	})
	if err != nil {
		return fmt.Errorf("auroratest: starting the writer of cluster %s: %w", c.id, err)
	}
	e.log.Debug("auroratest: writer started", "cluster", c.id)
	e.mu.Lock()
	w.server, w.port, w.applied = srv, srv.Port(), want
	e.mu.Unlock()
	if err := prepareWriter(ctx, srv, c); err != nil {
		return fmt.Errorf("auroratest: preparing the writer of cluster %s: %w", c.id, err)
	}
	e.log.Debug("auroratest: writer prepared", "cluster", c.id)

	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, r := range c.members[1:] {
		e.mu.Lock()
		want := e.desiredLocked(r)
		rtls := r.tls
		e.mu.Unlock()
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
			e.mu.Lock()
			r.server, r.port, r.applied = rs, rs.Port(), applied
			e.mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.mu.Lock()
	c.status = statusAvailable
	for _, in := range c.members {
		in.status = statusAvailable
	}
	e.mu.Unlock()
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

// lookupClusterLocked finds a cluster by identifier or ARN.
func (e *Emulator) lookupClusterLocked(id string) (*cluster, bool) {
	id = strings.ToLower(strings.TrimPrefix(id, e.arn("cluster", "")))
	c, ok := e.clusters[id]
	return c, ok
}

func (e *Emulator) lookupInstanceLocked(id string) (*instance, bool) {
	id = strings.ToLower(strings.TrimPrefix(id, e.arn("db", "")))
	in, ok := e.instances[id]
	return in, ok
}

const timeFormat = "2006-01-02T15:04:05.000Z"

func (e *Emulator) xClusterLocked(c *cluster) xDBCluster {
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
		DBClusterArn:               e.arn("cluster", c.id),
		ClusterCreateTime:          c.created.Format(timeFormat),
		EngineMode:                 "provisioned",
		StorageType:                "aurora",
		NetworkType:                "IPV4",
		MasterUserSecret:           e.xMasterUserSecretLocked(c),
	}
	for _, in := range c.members {
		x.DBClusterMembers.Items = append(x.DBClusterMembers.Items, xDBClusterMember{
			DBInstanceIdentifier: in.id, IsClusterWriter: in.writer,
			DBClusterParameterGroupStatus: in.clusterGroupStatus, PromotionTier: int32(in.promotionTier),
		})
	}
	return x
}

func (e *Emulator) xInstanceLocked(in *instance) xDBInstance {
	c := in.cluster
	x := xDBInstance{
		DBInstanceIdentifier:       in.id,
		DBInstanceClass:            instanceClass,
		Engine:                     engineName,
		DBInstanceStatus:           in.status,
		MasterUsername:             c.masterUser,
		DBName:                     c.databaseName,
		Endpoint:                   xEndpoint{Address: "127.0.0.1", Port: int32(in.port), HostedZoneId: hostedZoneID},
		AllocatedStorage:           1,
		InstanceCreateTime:         in.created.Format(timeFormat),
		PreferredBackupWindow:      "07:00-07:30",
		BackupRetentionPeriod:      int32(c.backupRetention),
		AvailabilityZone:           in.az,
		PreferredMaintenanceWindow: "sun:08:00-sun:08:30",
		EngineVersion:              c.engineVersion,
		AutoMinorVersionUpgrade:    true,
		LicenseModel:               "postgresql-license",
		StorageType:                "aurora",
		DBClusterIdentifier:        c.id,
		DbiResourceId:              in.resourceID,
		CACertificateIdentifier:    in.ca,
		CertificateDetails:         &xCertificateDetails{CAIdentifier: in.ca, ValidTill: in.certValidTill.UTC().Format(timeFormat)},
		PendingModifiedValues:      xInstancePending{CACertificateIdentifier: in.pendingCA},
		PromotionTier:              int32(in.promotionTier),
		DBInstanceArn:              e.arn("db", in.id),
		NetworkType:                "IPV4",
	}
	x.DBParameterGroups.Items = []xDBParameterGroupStatus{{DBParameterGroupName: in.instanceGroup, ParameterApplyStatus: in.instanceGroupStatus}}
	x.OptionGroupMemberships.Items = []xOptionGroupMembership{{OptionGroupName: "default:aurora-postgresql-" + strings.TrimPrefix(c.family, "aurora-postgresql"), Status: statusInSync}}
	return x
}

// matchFilters applies DescribeDBClusters/DescribeDBInstances filters.
func matchFilter(f filter, values ...string) bool {
	for _, want := range f.values {
		for _, v := range values {
			if strings.EqualFold(want, v) {
				return true
			}
		}
	}
	return false
}

func (e *Emulator) actDescribeDBClusters(r *request) (any, error) {
	filters, err := r.filters()
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		switch f.name {
		case "db-cluster-id", "engine", "db-cluster-resource-id":
		default:
			return nil, errInvalidValue("Unrecognized filter name: %s. auroratest supports db-cluster-id, db-cluster-resource-id and engine.", f.name)
		}
	}
	if _, err := r.optBool("IncludeShared", false); err != nil {
		return nil, err
	}
	id := r.str("DBClusterIdentifier")
	e.mu.Lock()
	var list []xDBCluster
	if id != "" {
		c, ok := e.lookupClusterLocked(id)
		if !ok {
			e.mu.Unlock()
			return nil, errClusterNotFound(id)
		}
		list = append(list, e.xClusterLocked(c))
	} else {
	clusters:
		for _, c := range e.clusterOrder {
			for _, f := range filters {
				var ok bool
				switch f.name {
				case "db-cluster-id":
					ok = matchFilter(f, c.id, e.arn("cluster", c.id))
				case "engine":
					ok = matchFilter(f, engineName)
				case "db-cluster-resource-id":
					ok = matchFilter(f, c.resourceID)
				}
				if !ok {
					continue clusters
				}
			}
			list = append(list, e.xClusterLocked(c))
		}
	}
	e.mu.Unlock()
	from, to, next, err := r.page(len(list))
	if err != nil {
		return nil, err
	}
	var res xDescribeDBClustersResult
	res.Marker, res.DBClusters.Items = next, list[from:to]
	return res, nil
}

func (e *Emulator) actDescribeDBInstances(r *request) (any, error) {
	filters, err := r.filters()
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		switch f.name {
		case "db-cluster-id", "db-instance-id", "engine", "dbi-resource-id":
		default:
			return nil, errInvalidValue("Unrecognized filter name: %s. auroratest supports db-cluster-id, db-instance-id, dbi-resource-id and engine.", f.name)
		}
	}
	id := r.str("DBInstanceIdentifier")
	e.mu.Lock()
	var list []xDBInstance
	if id != "" {
		in, ok := e.lookupInstanceLocked(id)
		if !ok {
			e.mu.Unlock()
			return nil, errInstanceNotFound(id)
		}
		list = append(list, e.xInstanceLocked(in))
	} else {
		for _, c := range e.clusterOrder {
		instances:
			for _, in := range c.members {
				for _, f := range filters {
					var ok bool
					switch f.name {
					case "db-cluster-id":
						ok = matchFilter(f, c.id, e.arn("cluster", c.id))
					case "db-instance-id":
						ok = matchFilter(f, in.id, e.arn("db", in.id))
					case "engine":
						ok = matchFilter(f, engineName)
					case "dbi-resource-id":
						ok = matchFilter(f, in.resourceID)
					}
					if !ok {
						continue instances
					}
				}
				list = append(list, e.xInstanceLocked(in))
			}
		}
	}
	e.mu.Unlock()
	from, to, next, err := r.page(len(list))
	if err != nil {
		return nil, err
	}
	var res xDescribeDBInstancesResult
	res.Marker, res.DBInstances.Items = next, list[from:to]
	return res, nil
}

// actModifyDBCluster changes the cluster parameter group and the backup
// retention period. The cluster is "modifying" for the transition delay;
// then a new parameter group is associated (members pending-reboot) and
// the retention period changes. Aurora applies both regardless of
// ApplyImmediately.
func (e *Emulator) actModifyDBCluster(r *request) (any, error) {
	id, err := r.required("DBClusterIdentifier")
	if err != nil {
		return nil, err
	}
	if _, err := r.optBool("ApplyImmediately", false); err != nil {
		return nil, err
	}
	retention, hasRetention, err := r.optInt("BackupRetentionPeriod")
	if err != nil {
		return nil, err
	}
	if hasRetention && (retention < 1 || retention > 35) {
		return nil, errInvalidValue("Invalid backup retention period: %d. The backup retention period must be between 1 and 35 days for Aurora DB clusters.", retention)
	}
	groupName := strings.ToLower(r.str("DBClusterParameterGroupName"))
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.lookupClusterLocked(id)
	if !ok {
		return nil, errClusterNotFound(id)
	}
	if groupName != "" {
		g, ok := e.lookupGroupLocked(clusterKind, groupName)
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
	if !hasRetention && groupName == "" {
		return nil, errInvalidCombination("No modifications were requested")
	}
	if c.status != statusAvailable {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	c.status = statusModifying
	x := e.xClusterLocked(c)
	e.goBackgroundLocked(func(ctx context.Context) {
		if !e.sleep(e.delay) {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if groupName != "" {
			c.clusterGroup = groupName
			for _, in := range c.members {
				in.clusterGroupStatus = statusPendingReboot
				in.pendingGen++
			}
		}
		if hasRetention {
			c.backupRetention = retention
		}
		c.status = statusAvailable
	})
	return xDBClusterResult{DBCluster: x}, nil
}

// actModifyDBInstance changes an instance's DB parameter group (pending
// until a reboot, as on Aurora) and its promotion tier.
func (e *Emulator) actModifyDBInstance(r *request) (any, error) {
	id, err := r.required("DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	applyNow, err := r.optBool("ApplyImmediately", false)
	if err != nil {
		return nil, err
	}
	rotationRestart, err := r.optBool("CertificateRotationRestart", true)
	if err != nil {
		return nil, err
	}
	caID := r.str("CACertificateIdentifier")
	tier, hasTier, err := r.optInt("PromotionTier")
	if err != nil {
		return nil, err
	}
	if hasTier && (tier < 0 || tier > 15) {
		return nil, errInvalidValue("Invalid PromotionTier %d: allowed values are 0 to 15.", tier)
	}
	groupName := strings.ToLower(r.str("DBParameterGroupName"))
	e.mu.Lock()
	defer e.mu.Unlock()
	in, ok := e.lookupInstanceLocked(id)
	if !ok {
		return nil, errInstanceNotFound(id)
	}
	if groupName != "" {
		g, ok := e.lookupGroupLocked(instanceKind, groupName)
		if !ok {
			return nil, errGroupNotFound(instanceKind, groupName)
		}
		if g.family != in.cluster.family {
			return nil, errInvalidCombination("The parameter group %s with DBParameterGroupFamily %s cannot be used for this instance. Please use a Parameter Group with DBParameterGroupFamily %s", g.name, g.family, in.cluster.family)
		}
		if g.name == in.instanceGroup {
			groupName = ""
		}
	}
	if caID != "" {
		if _, ok := e.cas.byID[caID]; !ok {
			return nil, errCertNotFound(caID)
		}
		if caID == in.ca && in.pendingCA == "" {
			caID = ""
		}
	}
	if !hasTier && groupName == "" && caID == "" {
		return nil, errInvalidCombination("No modifications were requested")
	}
	if in.status != statusAvailable {
		return nil, errInvalidInstanceState(in.id, in.status)
	}
	in.status = statusModifying
	x := e.xInstanceLocked(in)
	e.goBackgroundLocked(func(ctx context.Context) {
		if !e.sleep(e.delay) {
			return
		}
		e.mu.Lock()
		if groupName != "" {
			in.instanceGroup = groupName
			in.instanceGroupStatus = statusPendingReboot
			in.pendingGen++
		}
		if hasTier {
			in.promotionTier = tier
		}
		rotate := caID
		if caID != "" && !applyNow {
			in.pendingCA, rotate = caID, "" // at the next reboot
		}
		if rotate == "" {
			in.status = statusAvailable
		}
		e.mu.Unlock()
		if rotate != "" {
			e.rotateCA(ctx, in, rotate, rotationRestart)
		}
	})
	return xDBInstanceResult{DBInstance: x}, nil
}

// actionTable lists the emulated actions with the request parameters each
// reads.
func (e *Emulator) actionTable() map[string]action {
	paging := []string{"MaxRecords", "Marker"}
	with := func(base ...string) []string { return append(slices.Clone(base), paging...) }
	return map[string]action{
		"CreateDBClusterParameterGroup":          {[]string{"DBClusterParameterGroupName", "DBParameterGroupFamily", "Description", "Tags"}, e.actCreateDBClusterParameterGroup},
		"CreateDBParameterGroup":                 {[]string{"DBParameterGroupName", "DBParameterGroupFamily", "Description", "Tags"}, e.actCreateDBParameterGroup},
		"DeleteDBClusterParameterGroup":          {[]string{"DBClusterParameterGroupName"}, e.actDeleteDBClusterParameterGroup},
		"DeleteDBParameterGroup":                 {[]string{"DBParameterGroupName"}, e.actDeleteDBParameterGroup},
		"DescribeDBClusterParameterGroups":       {with("DBClusterParameterGroupName", "Filters"), e.actDescribeDBClusterParameterGroups},
		"DescribeDBParameterGroups":              {with("DBParameterGroupName", "Filters"), e.actDescribeDBParameterGroups},
		"ModifyDBClusterParameterGroup":          {[]string{"DBClusterParameterGroupName", "Parameters"}, groupAction(clusterKind, e.modifyGroup)},
		"ModifyDBParameterGroup":                 {[]string{"DBParameterGroupName", "Parameters"}, groupAction(instanceKind, e.modifyGroup)},
		"ResetDBClusterParameterGroup":           {[]string{"DBClusterParameterGroupName", "Parameters", "ResetAllParameters"}, groupAction(clusterKind, e.resetGroup)},
		"ResetDBParameterGroup":                  {[]string{"DBParameterGroupName", "Parameters", "ResetAllParameters"}, groupAction(instanceKind, e.resetGroup)},
		"DescribeDBClusterParameters":            {with("DBClusterParameterGroupName", "Source", "Filters"), e.actDescribeDBClusterParameters},
		"DescribeDBParameters":                   {with("DBParameterGroupName", "Source", "Filters"), e.actDescribeDBParameters},
		"DescribeEngineDefaultClusterParameters": {with("DBParameterGroupFamily", "Filters"), e.actDescribeEngineDefaultClusterParameters},
		"DescribeEngineDefaultParameters":        {with("DBParameterGroupFamily", "Filters"), e.actDescribeEngineDefaultParameters},
		"DescribeDBClusters":                     {with("DBClusterIdentifier", "Filters", "IncludeShared"), e.actDescribeDBClusters},
		"DescribeDBInstances":                    {with("DBInstanceIdentifier", "Filters"), e.actDescribeDBInstances},
		"ModifyDBCluster":                        {[]string{"DBClusterIdentifier", "DBClusterParameterGroupName", "BackupRetentionPeriod", "ApplyImmediately"}, e.actModifyDBCluster},
		"ModifyDBInstance":                       {[]string{"DBInstanceIdentifier", "DBParameterGroupName", "PromotionTier", "ApplyImmediately", "CACertificateIdentifier", "CertificateRotationRestart"}, e.actModifyDBInstance},
		"DescribeCertificates":                   {with("CertificateIdentifier", "Filters"), e.actDescribeCertificates},
		"ModifyCertificates":                     {[]string{"CertificateIdentifier", "RemoveCustomerOverride"}, e.actModifyCertificates},
		"DescribePendingMaintenanceActions":      {with("ResourceIdentifier", "Filters"), e.actDescribePendingMaintenanceActions},
		"RebootDBInstance":                       {[]string{"DBInstanceIdentifier", "ForceFailover"}, e.actRebootDBInstance},
		"FailoverDBCluster":                      {[]string{"DBClusterIdentifier", "TargetDBInstanceIdentifier"}, e.actFailoverDBCluster},
		"DescribeDBLogFiles":                     {with("DBInstanceIdentifier", "FilenameContains", "FileLastWritten", "FileSize", "Filters"), e.actDescribeDBLogFiles},
		"DownloadDBLogFilePortion":               {[]string{"DBInstanceIdentifier", "LogFileName", "Marker", "NumberOfLines"}, e.actDownloadDBLogFilePortion},
	}
}
