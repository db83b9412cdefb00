package auroratest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// DB clusters: their state, their creation, and the actions on them.

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
	statusUpgrading      = "upgrading"
	statusRebooting      = "rebooting"
	statusIncompatParams = "incompatible-parameters"
	statusFailed         = "failed"
	statusDeleting       = "deleting"
	statusStopping       = "stopping"
	statusStopped        = "stopped"
	statusStarting       = "starting"
)

var availabilityZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// Preferred windows of new clusters and instances.
const (
	defaultBackupWindow      = "07:00-07:30"
	defaultMaintenanceWindow = "sun:08:00-sun:08:30"
)

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

	deletionProtection bool
	iamAuth            bool
	// template, when the cluster's first writer started on a copy of it,
	// is the template the cluster's first readers start on too.
	template           *dataTemplate
	storageEncrypted   bool
	kmsKeyID           string
	logExports         []string // EnabledCloudwatchLogsExports
	copyTagsToSnapshot bool
	backupWindow       string
	maintenanceWindow  string
	lifecycle          string // EngineLifecycleSupport
	endpoints          []*customEndpoint

	// dir holds the cluster's own files: its WAL archive and, while it
	// has no instance, its data (storage/data), which the next writer
	// starts on. With Aurora the data is the cluster's storage and
	// outlives its instances; here it lives in the writer's data
	// directory and moves to dir/storage when the last instance goes.
	dir string
	// hasData says whether the cluster holds data (a database exists)
	// in its writer or in dir/storage; false until its first writer
	// starts, which then creates the database.
	hasData bool
	// saved is what SaveState saved, for ResetState.
	saved *savedState
	// recovery, for a cluster restored to a point in time, is the replay
	// its first writer runs on the restored data.
	recovery *pgserver.Recovery
	// backups are the base backups of the cluster's automated snapshots,
	// oldest first; with the archived WAL they bound the point-in-time
	// restores (EarliestRestorableTime).
	backups []*snapshot
	// stoppedAt is when the writer last stopped with the cluster (for
	// LatestRestorableTime while no writer runs).
	stoppedAt time.Time
}

// archiveDir is where the cluster's writers archive their WAL.
func (c *cluster) archiveDir() string { return filepath.Join(c.dir, "wal-archive") }

// storageDir holds the cluster's data while it has no instance.
func (c *cluster) storageDir() string { return filepath.Join(c.dir, "storage") }

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
		dir: filepath.Join(e.dir, "clusters", s.id), backupWindow: defaultBackupWindow, maintenanceWindow: defaultMaintenanceWindow,
	}
	for i := 0; i < cfg.Instances; i++ {
		id := fmt.Sprintf("%s-instance-%d", s.id, i+1)
		if _, ok := st.instances[id]; ok {
			return nil, fmt.Errorf("auroratest: cluster %q: DB instance %s already exists", s.id, id)
		}
		in := &instance{
			id: id, arn: e.arn("db", id), resourceID: "db-" + randomUpper(26), sessionID: newRequestID(), cluster: c, writer: i == 0,
			promotionTier: i, instanceGroup: ig, status: statusCreating,
			clusterGroupStatus: statusInSync, instanceGroupStatus: statusInSync,
			az: availabilityZones[i%len(availabilityZones)], created: now,
			dir: filepath.Join(e.dir, id), class: instanceClass, autoMinorUpgrade: true, maintenanceWindow: defaultMaintenanceWindow,
		}
		ca := cfg.CACertificateIdentifier
		if ca == "" {
			ca = st.defaultCA()
		}
		var err error
		if in.address, err = newInstanceAddress(); err != nil {
			return nil, err
		}
		if err := e.issue(st, in, ca); err != nil {
			return nil, err
		}
		c.members = append(c.members, in)
	}
	if err := e.startProxies(c, nil); err != nil {
		return nil, err
	}
	if cfg.ManageMasterUserPassword {
		e.createManagedSecret(st, c)
	}
	st.clusters[c.id] = c
	st.clusterOrder = append(st.clusterOrder, c)
	e.event(st, sourceCluster, c.id, "creation", "DB cluster created")
	for _, in := range c.members {
		st.instances[in.id] = in
		e.event(st, sourceInstance, in.id, "creation", "DB instance created")
	}
	return c, nil
}

// startCluster starts the writer, prepares it as Aurora would (roles,
// database), then starts the readers as streaming replicas.
func (e *Emulator) startCluster(ctx context.Context, c *cluster) error {
	w := c.members[0]
	if err := e.startWriter(ctx, w); err != nil {
		return fmt.Errorf("auroratest: %w", err)
	}
	e.log.Debug("auroratest: writer started", "cluster", c.id)
	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, r := range c.members[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.startReader(ctx, r, c.template); err != nil {
				errs[i] = fmt.Errorf("auroratest: %w", err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	st := e.lock()
	c.status = statusAvailable
	e.event(st, sourceCluster, c.id, "notification", "DB cluster is available")
	for _, in := range c.members {
		in.status = statusAvailable
		e.event(st, sourceInstance, in.id, "availability", "DB instance is available")
	}
	st.unlock()
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
	earliest, latest, restorable := c.restorableWindow(now)
	x := xDBCluster{
		AllocatedStorage:                 1,
		AvailabilityZones:                xAvailabilityZones{Items: availabilityZones},
		BackupRetentionPeriod:            int32(c.backupRetention),
		DatabaseName:                     c.databaseName,
		DBClusterIdentifier:              c.id,
		DBClusterParameterGroup:          c.clusterGroup,
		DBSubnetGroup:                    defaultSubnetGroup,
		Status:                           c.status,
		EarliestRestorableTime:           restorableTime(earliest, restorable),
		Endpoint:                         writerEndpointHost,
		ReaderEndpoint:                   readerEndpointHost,
		MultiAZ:                          len(c.members) > 1,
		Engine:                           engineName,
		EngineVersion:                    c.engineVersion,
		LatestRestorableTime:             restorableTime(latest, restorable),
		Port:                             int32(c.port),
		MasterUsername:                   c.masterUser,
		PreferredBackupWindow:            c.backupWindow,
		PreferredMaintenanceWindow:       c.maintenanceWindow,
		HostedZoneId:                     hostedZoneID,
		StorageEncrypted:                 c.storageEncrypted,
		KmsKeyId:                         c.kmsKeyID,
		DbClusterResourceId:              c.resourceID,
		DBClusterArn:                     c.arn,
		IAMDatabaseAuthenticationEnabled: c.iamAuth,
		ClusterCreateTime:                c.created.Format(timeFormat),
		EngineMode:                       "provisioned",
		DeletionProtection:               c.deletionProtection,
		CopyTagsToSnapshot:               c.copyTagsToSnapshot,
		TagList:                          c.tags.x(),
		EnabledCloudwatchLogsExports:     xStringList{Items: c.logExports},
		StorageType:                      "aurora",
		NetworkType:                      "IPV4",
		MasterUserSecret:                 e.xMasterUserSecret(c),
		EngineLifecycleSupport:           c.lifecycleSupport(),
		AutoMinorVersionUpgrade:          true,
		MonitoringInterval:               0,
		PerformanceInsightsEnabled:       false,
		DatabaseInsightsMode:             "standard",
		LocalWriteForwardingStatus:       "disabled",
		VpcSecurityGroups:                xVpcSecurityGroups{Items: []xVpcSecurityGroup{{VpcSecurityGroupId: defaultSecurityGroup, Status: "active"}}},
		DBClusterOptionGroupMemberships:  xEmpty{},
		CrossAccountClone:                false,
	}
	if c.writer() != nil {
		x.CertificateDetails = &xCertificateDetails{CAIdentifier: c.writer().ca, ValidTill: c.writer().certValidTill.UTC().Format(timeFormat)}
	}
	for _, ep := range c.endpoints {
		x.CustomEndpoints.Items = append(x.CustomEndpoints.Items, ep.address)
	}
	for _, in := range c.members {
		x.DBClusterMembers.Items = append(x.DBClusterMembers.Items, xDBClusterMember{
			DBInstanceIdentifier: in.id, IsClusterWriter: in.writer,
			DBClusterParameterGroupStatus: in.clusterGroupStatus, PromotionTier: int32(in.promotionTier),
		})
	}
	return x
}

// restorableTime is a bound of the restorable window; none until the
// cluster's first backup.
func restorableTime(t time.Time, ok bool) string {
	if !ok {
		return ""
	}
	return t.Format(timeFormat)
}

func (c *cluster) lifecycleSupport() string {
	if c.lifecycle != "" {
		return c.lifecycle
	}
	return "open-source-rds-extended-support"
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
	DBClusterIdentifier               string `rds:",required"`
	DBClusterParameterGroupName       string
	BackupRetentionPeriod             *int
	ApplyImmediately                  bool
	DeletionProtection                *bool
	EnableIAMDatabaseAuthentication   *bool
	MasterUserPassword                string
	ManageMasterUserPassword          *bool
	RotateMasterUserPassword          bool
	CloudwatchLogsExportConfiguration *struct {
		EnableLogTypes  []string `rds:",list=member"`
		DisableLogTypes []string `rds:",list=member"`
	}
	PreferredBackupWindow        string
	PreferredMaintenanceWindow   string
	EngineVersion                string
	AllowMajorVersionUpgrade     bool
	DBInstanceParameterGroupName string
	CopyTagsToSnapshot           *bool
	VpcSecurityGroupIds          []string `rds:",list=VpcSecurityGroupId"`
}

// clusterChange is a validated ModifyDBCluster, applied after the
// transition delay.
type clusterChange struct {
	group              string
	retention          *int
	deletionProtection *bool
	iamAuth            *bool
	password           string // a new master password ("" keeps it)
	manageSecret       *bool
	logExports         []string // the new list, or nil
	backupWindow       string
	maintenanceWindow  string
	engineVersion      string
	// major is a major version upgrade to engineVersion, with the
	// target family's groups group and instanceGroup.
	major         bool
	instanceGroup string
	copyTags      *bool
}

func (ch clusterChange) empty() bool {
	return !ch.major && ch.group == "" && ch.retention == nil && ch.deletionProtection == nil && ch.iamAuth == nil &&
		ch.password == "" && ch.manageSecret == nil && ch.logExports == nil && ch.backupWindow == "" && ch.maintenanceWindow == "" &&
		ch.engineVersion == "" && ch.copyTags == nil
}

// modifyDBCluster changes a cluster. The cluster is "modifying" for the
// transition delay; then the changes take effect: a new parameter group
// is associated (members pending-reboot), a new master password is set on
// the servers, the rest is recorded. Aurora applies these regardless of
// ApplyImmediately.
func (e *Emulator) modifyDBCluster(ctx context.Context, in *modifyClusterIn) (any, error) {
	ch := clusterChange{retention: in.BackupRetentionPeriod, deletionProtection: in.DeletionProtection, iamAuth: in.EnableIAMDatabaseAuthentication,
		manageSecret: in.ManageMasterUserPassword, backupWindow: in.PreferredBackupWindow, maintenanceWindow: in.PreferredMaintenanceWindow,
		copyTags: in.CopyTagsToSnapshot}
	if r := ch.retention; r != nil && (*r < 1 || *r > 35) {
		return nil, errInvalidValue("Invalid backup retention period: %d. The backup retention period must be between 1 and 35 days for Aurora DB clusters.", *r)
	}
	for _, w := range []struct{ field, v string }{{"PreferredBackupWindow", ch.backupWindow}, {"PreferredMaintenanceWindow", ch.maintenanceWindow}} {
		if w.v != "" && !windowRE.MatchString(w.v) {
			return nil, errInvalidValue("Invalid %s %q: use hh24:mi-hh24:mi (backup) or ddd:hh24:mi-ddd:hh24:mi (maintenance), in UTC.", w.field, w.v)
		}
	}
	for _, sg := range in.VpcSecurityGroupIds {
		if sg != defaultSecurityGroup {
			return nil, errInvalidValue("Invalid security group %s: auroratest has the default VPC security group %s only.", sg, defaultSecurityGroup)
		}
	}
	if in.MasterUserPassword != "" {
		if err := validPassword(in.MasterUserPassword); err != nil {
			return nil, err
		}
		if m := in.ManageMasterUserPassword; m != nil && *m {
			return nil, errInvalidCombination("Specify either MasterUserPassword or ManageMasterUserPassword, not both.")
		}
		ch.password = in.MasterUserPassword
	}
	if in.RotateMasterUserPassword {
		return nil, errInvalidCombination("auroratest rotates a managed master password through Secrets Manager's RotateSecret, not RotateMasterUserPassword.")
	}
	st := e.lock()
	defer st.unlock()
	c, ok := st.cluster(e, in.DBClusterIdentifier)
	if !ok {
		return nil, errClusterNotFound(in.DBClusterIdentifier)
	}
	family := c.family // the family the cluster has after this call
	if v := in.EngineVersion; v != "" && v != c.engineVersion {
		if !knownVersion(v) {
			return nil, errInvalidValue("Cannot find version %s for %s.", v, engineName)
		}
		if slices.Index(engineVersions, v) < slices.Index(engineVersions, c.engineVersion) {
			return nil, errInvalidCombination("Cannot upgrade %s from %s to %s: that is a downgrade.", c.id, c.engineVersion, v)
		}
		if familyFor(v) != c.family {
			if !in.AllowMajorVersionUpgrade {
				return nil, errInvalidCombination("The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.")
			}
			if !slices.ContainsFunc(upgradeTargets(c.engineVersion), func(t xUpgradeTarget) bool { return t.EngineVersion == v }) {
				return nil, errInvalidCombination("Cannot upgrade %s from %s to %s.", engineName, c.engineVersion, v)
			}
			ch.major, family = true, familyFor(v)
		}
		ch.engineVersion = v
	}
	if name := strings.ToLower(in.DBClusterParameterGroupName); name != "" {
		g, ok := st.group(e, clusterKind, name)
		if !ok {
			return nil, &apiError{http.StatusNotFound, "DBClusterParameterGroupNotFound", "DBClusterParameterGroup not found: " + name}
		}
		if g.family != family {
			return nil, errInvalidCombination("The DB cluster parameter group %s is of family %s; cluster %s needs family %s.", g.name, g.family, c.id, family)
		}
		if g.name != c.clusterGroup {
			ch.group = g.name
		}
	}
	if name := strings.ToLower(in.DBInstanceParameterGroupName); name != "" {
		if !ch.major {
			return nil, errInvalidCombination("The parameter DBInstanceParameterGroupName is valid only in combination with AllowMajorVersionUpgrade, for a major version upgrade.")
		}
		g, ok := st.group(e, instanceKind, name)
		if !ok {
			return nil, &apiError{http.StatusNotFound, "DBParameterGroupNotFound", "DBParameterGroup not found: " + name}
		}
		if g.family != family {
			return nil, errInvalidCombination("The parameter group %s with DBParameterGroupFamily %s can't be used for this instance. Use a parameter group with DBParameterGroupFamily %s.", g.name, g.family, family)
		}
		ch.instanceGroup = g.name
	}
	if ch.major {
		// Aurora keeps no custom group across families: a custom one must
		// be replaced by name, a default one becomes the new family's.
		if ch.group == "" {
			if !strings.HasPrefix(c.clusterGroup, "default.") {
				return nil, errInvalidCombination("The current DB cluster parameter group %s is custom. You must explicitly specify a new DB cluster parameter group, either default or custom, for the engine version upgrade.", c.clusterGroup)
			}
			st.ensureDefaultGroups(family)
			ch.group = defaultGroupName(family)
		}
		if ch.instanceGroup == "" {
			for _, m := range c.members {
				if !strings.HasPrefix(m.instanceGroup, "default.") {
					return nil, errInvalidCombination("The current DB instance parameter group %s is custom. You must explicitly specify a new DB instance parameter group, either default or custom, for the engine version upgrade.", m.instanceGroup)
				}
			}
			st.ensureDefaultGroups(family)
			ch.instanceGroup = defaultGroupName(family)
		}
	}
	if m := ch.manageSecret; m != nil && *m == (c.secret != nil) {
		ch.manageSecret = nil
	} else if m != nil && !*m && ch.password == "" {
		return nil, errInvalidCombination("Turning off ManageMasterUserPassword needs a new MasterUserPassword.")
	}
	if in.CloudwatchLogsExportConfiguration != nil {
		cfg := in.CloudwatchLogsExportConfiguration
		logs := slices.Clone(c.logExports)
		for _, l := range append(slices.Clone(cfg.EnableLogTypes), cfg.DisableLogTypes...) {
			if !slices.Contains(exportableLogs, l) {
				return nil, errInvalidValue("Invalid log type %q: use %s.", l, strings.Join(exportableLogs, ", "))
			}
		}
		for _, l := range cfg.EnableLogTypes {
			if !slices.Contains(logs, l) {
				logs = append(logs, l)
			}
		}
		logs = slices.DeleteFunc(logs, func(l string) bool { return slices.Contains(cfg.DisableLogTypes, l) })
		if logs == nil {
			logs = []string{}
		}
		ch.logExports = logs
	}
	if ch.empty() {
		// Unchanged values (Terraform sends the whole configuration) make
		// no modification; AWS answers with the cluster as it is.
		return xDBClusterResult{DBCluster: e.xCluster(st, c)}, nil
	}
	if c.status != statusAvailable {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	c.status = statusModifying
	e.event(st, sourceCluster, c.id, "configuration change", "DB cluster is being modified")
	if ch.major {
		c.status = statusUpgrading
		for _, m := range c.members {
			m.status = statusUpgrading
		}
		e.event(st, sourceCluster, c.id, "maintenance", fmt.Sprintf("Upgrade in progress: upgrading the DB cluster from %s to %s", c.engineVersion, ch.engineVersion))
	}
	x := e.xCluster(st, c)
	if ch.password != "" {
		x.PendingModifiedValues = &xClusterPending{MasterUserPassword: "****"}
	}
	e.goBackground(st, func(ctx context.Context) { e.applyClusterChange(ctx, c, ch) })
	return xDBClusterResult{DBCluster: x}, nil
}

func (e *Emulator) applyClusterChange(ctx context.Context, c *cluster, ch clusterChange) {
	if !e.sleep(e.delay) {
		return
	}
	if ch.major && !e.upgradeMajor(ctx, c, ch) {
		return
	}
	password := ch.password
	if m := ch.manageSecret; m != nil && *m {
		password = generatePassword()
	}
	if password != "" {
		st := e.lock()
		running := c.writer() != nil
		st.unlock()
		var err error
		if running {
			_, err = e.setMasterPassword(ctx, c, password, "", statusModifying)
		} else {
			// No server yet: the first writer starts with it.
			st := e.lock()
			if c.hasData {
				err = errors.New("the cluster has data but no instance: its password changes with its next writer")
			} else {
				c.masterPassword = password
			}
			st.unlock()
		}
		if err != nil && ctx.Err() == nil {
			e.log.Error("auroratest: changing the master password", "cluster", c.id, "error", err)
		}
	}
	if ch.iamAuth != nil {
		// The instances' pg_hba.conf follows at once (hbaFor), before
		// the cluster is available again.
		st := e.lock()
		c.iamAuth = *ch.iamAuth
		members := slices.Clone(c.members)
		st.unlock()
		for _, in := range members {
			if err := e.applyImmediate(in, clusterKind, nil); err != nil && ctx.Err() == nil {
				e.log.Error("auroratest: applying IAM database authentication", "instance", in.id, "error", err)
			}
		}
	}
	st := e.lock()
	defer st.unlock()
	if ch.group != "" && !ch.major {
		c.clusterGroup = ch.group
		for _, in := range c.members {
			in.clusterGroupStatus = statusPendingReboot
			in.pendingGen++
		}
	}
	if ch.retention != nil {
		c.backupRetention = *ch.retention
	}
	if ch.deletionProtection != nil {
		c.deletionProtection = *ch.deletionProtection
	}
	if ch.logExports != nil {
		c.logExports = ch.logExports
		e.syncExports(st, c)
	}
	if ch.backupWindow != "" {
		c.backupWindow = ch.backupWindow
	}
	if ch.maintenanceWindow != "" {
		c.maintenanceWindow = ch.maintenanceWindow
	}
	if ch.engineVersion != "" && !ch.major {
		c.engineVersion = ch.engineVersion
	}
	if ch.copyTags != nil {
		c.copyTagsToSnapshot = *ch.copyTags
	}
	if m := ch.manageSecret; m != nil {
		if *m {
			e.createManagedSecret(st, c)
		} else {
			st.secrets = slices.DeleteFunc(st.secrets, func(s *secret) bool { return s == c.secret })
			c.secret = nil
		}
	}
	c.status = statusAvailable
	e.event(st, sourceCluster, c.id, "configuration change", "DB cluster modified")
}

// validName checks an identifier (cluster, instance, snapshot, endpoint)
// as RDS does: 1 to max letters, digits and hyphens, starting with a
// letter, no trailing or double hyphen.
func validName(field, name string, max int) error {
	if name == "" {
		return errMissing(field)
	}
	if len(name) > max {
		return errInvalidValue("The parameter %s is not a valid identifier: at most %d characters.", field, max)
	}
	return validIdentifierChars(field, name)
}

// clusterCreate is a validated request for a new cluster, from
// CreateDBCluster or a restore.
type clusterCreate struct {
	id                         string
	engineVersion              string
	masterUser, masterPassword string
	manageSecret               bool
	databaseName               string
	port                       *int
	clusterGroup               string
	subnetGroup                string
	securityGroups             []string
	backupRetention            *int
	encrypted                  bool
	kmsKeyID                   string
	deletionProtection         bool
	iamAuth                    bool
	logExports                 []string
	copyTags                   bool
	backupWindow               string
	maintenanceWindow          string
	lifecycle                  string
	tags                       []tagIn
}

// exportableLogs are the log types Aurora PostgreSQL exports to
// CloudWatch Logs.
var exportableLogs = []string{"postgresql", "iam-db-auth-error", "instance"}

// createCluster validates a new cluster and records it (status creating)
// with its endpoints; it has no data until its first writer starts.
func (e *Emulator) createCluster(st *state, r clusterCreate) (*cluster, error) {
	id := strings.ToLower(r.id)
	if err := validName("DBClusterIdentifier", id, 63); err != nil {
		return nil, err
	}
	if !knownVersion(r.engineVersion) {
		return nil, errInvalidValue("Cannot find version %s for %s (auroratest offers %s).", r.engineVersion, engineName, strings.Join(engineVersions, ", "))
	}
	family := familyFor(r.engineVersion)
	if r.port != nil && (*r.port < 1150 || *r.port > 65535) {
		return nil, errInvalidValue("Invalid port %d: allowed values are 1150 to 65535.", *r.port)
	}
	if r.backupRetention != nil && (*r.backupRetention < 1 || *r.backupRetention > 35) {
		return nil, errInvalidValue("Invalid backup retention period: %d. The backup retention period must be between 1 and 35 days for Aurora DB clusters.", *r.backupRetention)
	}
	if r.subnetGroup != "" && r.subnetGroup != defaultSubnetGroup {
		return nil, &apiError{http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup " + r.subnetGroup + " not found (auroratest has the default group only)."}
	}
	for _, sg := range r.securityGroups {
		if sg != defaultSecurityGroup {
			return nil, errInvalidValue("Invalid security group %s: auroratest has the default VPC security group %s only.", sg, defaultSecurityGroup)
		}
	}
	for _, l := range r.logExports {
		if !slices.Contains(exportableLogs, l) {
			return nil, errInvalidValue("Invalid log type %q for EnableCloudwatchLogsExports: use %s.", l, strings.Join(exportableLogs, ", "))
		}
	}
	if r.kmsKeyID != "" && !r.encrypted {
		return nil, errInvalidCombination("KmsKeyId requires StorageEncrypted=true.")
	}
	if r.lifecycle != "" && r.lifecycle != "open-source-rds-extended-support" && r.lifecycle != "open-source-rds-extended-support-disabled" {
		return nil, errInvalidValue("Invalid EngineLifecycleSupport %q.", r.lifecycle)
	}
	for _, w := range []struct{ field, v string }{{"PreferredBackupWindow", r.backupWindow}, {"PreferredMaintenanceWindow", r.maintenanceWindow}} {
		if w.v != "" && !windowRE.MatchString(w.v) {
			return nil, errInvalidValue("Invalid %s %q: use hh24:mi-hh24:mi (backup) or ddd:hh24:mi-ddd:hh24:mi (maintenance), in UTC.", w.field, w.v)
		}
	}
	tags, err := newTagList(r.tags)
	if err != nil {
		return nil, err
	}
	if _, ok := st.clusters[id]; ok {
		return nil, &apiError{http.StatusBadRequest, "DBClusterAlreadyExistsFault", "DB Cluster already exists"}
	}
	group := defaultGroupName(family)
	if r.clusterGroup != "" {
		g, ok := st.group(e, clusterKind, r.clusterGroup)
		if !ok {
			return nil, &apiError{http.StatusNotFound, "DBClusterParameterGroupNotFound", "DBClusterParameterGroup not found: " + r.clusterGroup}
		}
		if g.family != family {
			return nil, errInvalidCombination("The DB cluster parameter group %s is of family %s; engine version %s needs family %s.", g.name, g.family, r.engineVersion, family)
		}
		group = g.name
	}
	st.ensureDefaultGroups(family)
	kms := ""
	if r.encrypted {
		kms = e.kmsKeyARNFor(r.kmsKeyID)
	}
	c := &cluster{
		id: id, arn: e.arn("cluster", id), resourceID: "cluster-" + randomUpper(26), engineVersion: r.engineVersion, family: family,
		masterUser: r.masterUser, masterPassword: r.masterPassword, databaseName: r.databaseName,
		clusterGroup: group, backupRetention: 1, status: statusCreating, created: time.Now().UTC(),
		dir: filepath.Join(e.dir, "clusters", id), backupWindow: defaultBackupWindow, maintenanceWindow: defaultMaintenanceWindow,
		tags: tags, deletionProtection: r.deletionProtection, iamAuth: r.iamAuth, storageEncrypted: r.encrypted, kmsKeyID: kms,
		logExports: slices.Clone(r.logExports), copyTagsToSnapshot: r.copyTags, lifecycle: r.lifecycle,
	}
	if r.backupRetention != nil {
		c.backupRetention = *r.backupRetention
	}
	if r.backupWindow != "" {
		c.backupWindow = r.backupWindow
	}
	if r.maintenanceWindow != "" {
		c.maintenanceWindow = r.maintenanceWindow
	}
	if err := e.startProxies(c, r.port); err != nil {
		return nil, err
	}
	if r.manageSecret {
		e.createManagedSecret(st, c)
	}
	st.clusters[id] = c
	st.clusterOrder = append(st.clusterOrder, c)
	e.event(st, sourceCluster, id, "creation", "DB cluster created")
	return c, nil
}

var windowRE = regexp.MustCompile(`^((mon|tue|wed|thu|fri|sat|sun):)?([01][0-9]|2[0-3]):[0-5][0-9]-((mon|tue|wed|thu|fri|sat|sun):)?([01][0-9]|2[0-3]):[0-5][0-9]$`)

// kmsKeyARNFor is the ARN of a KMS key given by ID, alias or ARN; ""
// means the account's aws/rds key.
func (e *Emulator) kmsKeyARNFor(id string) string {
	switch {
	case id == "":
		return e.rdsKMSKeyARN
	case strings.HasPrefix(id, "arn:"):
		return id
	case strings.HasPrefix(id, "alias/"):
		return "arn:aws:kms:" + e.region + ":" + e.account + ":" + id
	}
	return "arn:aws:kms:" + e.region + ":" + e.account + ":key/" + id
}

type createClusterIn struct {
	DBClusterIdentifier             string `rds:",required"`
	Engine                          string `rds:",required"`
	EngineVersion                   string
	EngineMode                      string
	MasterUsername                  string
	MasterUserPassword              string
	ManageMasterUserPassword        bool
	MasterUserSecretKmsKeyId        string
	DatabaseName                    string
	Port                            *int
	DBClusterParameterGroupName     string
	DBSubnetGroupName               string
	VpcSecurityGroupIds             []string `rds:",list=VpcSecurityGroupId"`
	AvailabilityZones               []string `rds:",list=AvailabilityZone"`
	BackupRetentionPeriod           *int
	StorageEncrypted                bool
	StorageType                     string
	KmsKeyId                        string
	DeletionProtection              bool
	EnableIAMDatabaseAuthentication bool
	EnableCloudwatchLogsExports     []string `rds:",list=member"`
	CopyTagsToSnapshot              bool
	PreferredBackupWindow           string
	PreferredMaintenanceWindow      string
	EngineLifecycleSupport          string
	NetworkType                     string
	EnableHttpEndpoint              bool
	EnablePerformanceInsights       bool
	tagsIn
}

// createDBCluster creates a cluster without instances, as on Aurora: it
// is "creating", then "available"; CreateDBInstance adds the writer and
// the readers.
func (e *Emulator) createDBCluster(ctx context.Context, in *createClusterIn) (any, error) {
	if in.Engine != engineName {
		return nil, errInvalidValue("Invalid Engine %q: auroratest emulates %s.", in.Engine, engineName)
	}
	if in.EngineMode != "" && in.EngineMode != "provisioned" {
		return nil, errInvalidValue("Invalid EngineMode %q: auroratest emulates provisioned clusters.", in.EngineMode)
	}
	if in.StorageType != "" && in.StorageType != "aurora" {
		return nil, errInvalidValue("Invalid StorageType %q: auroratest emulates aurora storage.", in.StorageType)
	}
	if in.NetworkType != "" && in.NetworkType != "IPV4" {
		return nil, errInvalidValue("Invalid NetworkType %q: auroratest emulates IPV4.", in.NetworkType)
	}
	if in.EnableHttpEndpoint || in.EnablePerformanceInsights {
		return nil, errInvalidValue("auroratest emulates neither the Data API (EnableHttpEndpoint) nor cluster-level Performance Insights: turn Performance Insights on per instance, with CreateDBInstance's or ModifyDBInstance's EnablePerformanceInsights.")
	}
	for _, az := range in.AvailabilityZones {
		if !slices.Contains(availabilityZones, az) {
			return nil, errInvalidValue("Invalid AvailabilityZone %s: use %s.", az, strings.Join(availabilityZones, ", "))
		}
	}
	if in.MasterUsername == "" {
		return nil, errInvalidValue("The parameter MasterUsername must be provided and must not be blank.")
	}
	if err := validUsername(in.MasterUsername); err != nil {
		return nil, errInvalidValue("MasterUsername %s", err)
	}
	password := in.MasterUserPassword
	switch {
	case in.ManageMasterUserPassword && password != "":
		return nil, errInvalidCombination("Specify either MasterUserPassword or ManageMasterUserPassword, not both.")
	case in.ManageMasterUserPassword:
		password = generatePassword()
	case password == "":
		return nil, errInvalidValue("The parameter MasterUserPassword must be provided and must not be blank.")
	case in.MasterUserSecretKmsKeyId != "":
		return nil, errInvalidCombination("MasterUserSecretKmsKeyId requires ManageMasterUserPassword.")
	}
	if err := validPassword(password); err != nil {
		return nil, err
	}
	if in.DatabaseName != "" {
		if err := validDatabaseName(in.DatabaseName); err != nil {
			return nil, err
		}
	}
	version := in.EngineVersion
	if version == "" {
		version = defaultEngineVersion
	}
	st := e.lock()
	defer st.unlock()
	c, err := e.createCluster(st, clusterCreate{
		id: in.DBClusterIdentifier, engineVersion: version, masterUser: in.MasterUsername, masterPassword: password,
		manageSecret: in.ManageMasterUserPassword, databaseName: in.DatabaseName, port: in.Port,
		clusterGroup: in.DBClusterParameterGroupName, subnetGroup: in.DBSubnetGroupName, securityGroups: in.VpcSecurityGroupIds,
		backupRetention: in.BackupRetentionPeriod, encrypted: in.StorageEncrypted, kmsKeyID: in.KmsKeyId,
		deletionProtection: in.DeletionProtection, iamAuth: in.EnableIAMDatabaseAuthentication,
		logExports: in.EnableCloudwatchLogsExports, copyTags: in.CopyTagsToSnapshot,
		backupWindow: in.PreferredBackupWindow, maintenanceWindow: in.PreferredMaintenanceWindow,
		lifecycle: in.EngineLifecycleSupport, tags: in.Tags,
	})
	if err != nil {
		return nil, err
	}
	x := e.xCluster(st, c)
	e.goBackground(st, func(ctx context.Context) {
		if !e.sleep(e.delay) {
			return
		}
		st := e.lock()
		defer st.unlock()
		if c.status == statusCreating {
			c.status = statusAvailable
			e.event(st, sourceCluster, c.id, "notification", "DB cluster is available")
		}
	})
	return xDBClusterResult{DBCluster: x}, nil
}

// validPassword applies Aurora's rules for master passwords. The
// password never appears in the message.
func validPassword(p string) error {
	if len(p) < 8 || len(p) > 128 || strings.ContainsAny(p, "/\"@ \x00\n\r") {
		return errInvalidValue("The parameter MasterUserPassword is not a valid password: it must be 8 to 128 printable ASCII characters other than /, \", @ and space.")
	}
	return nil
}

func validDatabaseName(n string) error {
	if len(n) > 63 || !isLetter(n[0]) || strings.ContainsFunc(n, func(r rune) bool {
		return !(r < 128 && (isLetter(byte(r)) || r >= '0' && r <= '9' || r == '_'))
	}) {
		return errInvalidValue("DatabaseName %q must be 1 to 63 letters, digits or underscores, starting with a letter.", n)
	}
	return nil
}

type deleteClusterIn struct {
	DBClusterIdentifier       string `rds:",required"`
	SkipFinalSnapshot         bool
	FinalDBSnapshotIdentifier string
	DeleteAutomatedBackups    *bool
}

// deleteDBCluster deletes a cluster without instances, after its final
// snapshot when one is asked for. Deletion protection and remaining
// instances refuse it, as on Aurora.
func (e *Emulator) deleteDBCluster(ctx context.Context, in *deleteClusterIn) (any, error) {
	final := strings.ToLower(in.FinalDBSnapshotIdentifier)
	switch {
	case in.SkipFinalSnapshot && final != "":
		return nil, errInvalidCombination("FinalDBSnapshotIdentifier cannot be specified when SkipFinalSnapshot is enabled.")
	case !in.SkipFinalSnapshot && final == "":
		return nil, errInvalidCombination("FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	case final != "":
		if err := validName("FinalDBSnapshotIdentifier", final, 255); err != nil {
			return nil, err
		}
	}
	if in.DeleteAutomatedBackups != nil && !*in.DeleteAutomatedBackups {
		return nil, errInvalidValue("auroratest does not retain automated backups: DeleteAutomatedBackups=false is not emulated.")
	}
	st := e.lock()
	defer st.unlock()
	c, ok := st.cluster(e, in.DBClusterIdentifier)
	if !ok {
		return nil, errClusterNotFound(in.DBClusterIdentifier)
	}
	if c.deletionProtection {
		return nil, errInvalidCombination("Cannot delete protected Cluster, please disable deletion protection and try again.")
	}
	if len(c.members) > 0 {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterStateFault", "Cluster cannot be deleted, it still contains DB instances in non-deleting state."}
	}
	if c.status != statusAvailable && c.status != statusFailed && c.status != statusStopped {
		return nil, errInvalidClusterState(c.id, c.status)
	}
	var snap *snapshot
	if final != "" {
		if _, ok := st.snapshots[final]; ok {
			return nil, errSnapshotExists(final)
		}
		if c.hasData {
			tags := tagList(nil)
			if c.copyTagsToSnapshot {
				tags = c.tags
			}
			snap = e.newSnapshot(st, c, final, snapshotManual, tags)
		}
	}
	c.status = statusDeleting
	e.event(st, sourceCluster, c.id, "deletion", "DB cluster deletion started")
	x := e.xCluster(st, c)
	e.goBackground(st, func(ctx context.Context) {
		var err error
		if snap != nil {
			err = e.takeData(ctx, c, snap)
		}
		if !e.sleep(e.delay) {
			return
		}
		st := e.lock()
		defer st.unlock()
		if snap != nil {
			snap.status = statusAvailable
			if err != nil {
				snap.status = statusFailed
				e.log.Error("auroratest: the final snapshot failed", "cluster", c.id, "error", err)
			}
		}
		e.dropCluster(st, c)
	})
	return xDBClusterResult{DBCluster: x}, nil
}

// dropCluster forgets a deleted cluster: its endpoints, its automated
// snapshots and its files go.
func (e *Emulator) dropCluster(st *state, c *cluster) {
	delete(st.clusters, c.id)
	st.clusterOrder = slices.DeleteFunc(st.clusterOrder, func(x *cluster) bool { return x == c })
	for _, b := range c.backups {
		e.dropSnapshot(st, b)
	}
	if c.secret != nil {
		st.secrets = slices.DeleteFunc(st.secrets, func(s *secret) bool { return s == c.secret })
	}
	go c.closeProxies() // waits for forwarded connections: not under the state lock
	_ = os.RemoveAll(c.dir)
	e.closeEndpoints(st, c)
	e.event(st, sourceCluster, c.id, "deletion", "DB cluster deleted")
}

type clusterIDIn struct {
	DBClusterIdentifier string `rds:",required"`
}

// stopDBCluster stops every instance's server (readers first), as
// Aurora stops a cluster: "stopping", then "stopped".
func (e *Emulator) stopDBCluster(ctx context.Context, in *clusterIDIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	c, err := st.availableCluster(e, in.DBClusterIdentifier)
	if err != nil {
		return nil, err
	}
	for _, m := range c.members {
		if s := m.busyStatus(statusAvailable); s != "" {
			return nil, errInvalidInstanceState(m.id, s)
		}
	}
	c.status = statusStopping
	for _, m := range c.members {
		m.status = statusStopping
	}
	e.event(st, sourceCluster, c.id, "notification", "DB cluster is being stopped")
	x := e.xCluster(st, c)
	e.goBackground(st, func(ctx context.Context) {
		unlock := e.lockMembers(c)
		defer unlock()
		st := e.lock()
		order := append(c.readers(), c.writer())
		st.unlock()
		for _, m := range order {
			if m == nil || m.server == nil {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := m.server.Stop(sctx)
			cancel()
			st := e.lock()
			m.status = statusStopped
			if err != nil {
				m.status = statusFailed
			}
			st.unlock()
		}
		st = e.lock()
		defer st.unlock()
		c.status, c.stoppedAt = statusStopped, time.Now().UTC()
		e.event(st, sourceCluster, c.id, "notification", "DB cluster stopped")
	})
	return xDBClusterResult{DBCluster: x}, nil
}

// startDBCluster starts a stopped cluster's servers again: the writer,
// then the readers, which resume streaming from it.
func (e *Emulator) startDBCluster(ctx context.Context, in *clusterIDIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	c, ok := st.cluster(e, in.DBClusterIdentifier)
	if !ok {
		return nil, errClusterNotFound(in.DBClusterIdentifier)
	}
	if c.status != statusStopped {
		return nil, &apiError{http.StatusBadRequest, "InvalidDBClusterStateFault", "DbCluster " + c.id + " is in " + c.status + " state but expected it to be stopped."}
	}
	c.status = statusStarting
	for _, m := range c.members {
		m.status = statusStarting
	}
	e.event(st, sourceCluster, c.id, "notification", "DB cluster is being started")
	x := e.xCluster(st, c)
	e.goBackground(st, func(ctx context.Context) {
		unlock := e.lockMembers(c)
		defer unlock()
		st := e.lock()
		order := append([]*instance{c.writer()}, c.readers()...)
		st.unlock()
		for _, m := range order {
			if m == nil || m.server == nil {
				continue
			}
			err := m.server.StartAgain(ctx)
			if err != nil && ctx.Err() == nil {
				e.log.Error("auroratest: starting an instance of a stopped cluster", "instance", m.id, "error", err)
			}
			st := e.lock()
			m.status = statusAvailable
			if err != nil {
				m.status = statusFailed
			}
			st.unlock()
		}
		st = e.lock()
		defer st.unlock()
		c.status = statusAvailable
		e.event(st, sourceCluster, c.id, "notification", "DB cluster started")
	})
	return xDBClusterResult{DBCluster: x}, nil
}
