package auroratest

// XML shapes of the API results. Element names follow the RDS API (and
// aws-sdk-go-v2's deserializers, which match them without regard to case);
// list members are named as the SDK expects them (DBClusters/DBCluster,
// DBClusterMembers/DBClusterMember, Parameters/Parameter, ...). A field
// without a tag is an element of the same name.

type xParameter struct {
	ParameterName        string
	ParameterValue       *string `xml:",omitempty"`
	Description          string  `xml:",omitempty"`
	Source               string
	ApplyType            string
	DataType             string
	AllowedValues        string `xml:",omitempty"`
	IsModifiable         bool
	MinimumEngineVersion string `xml:",omitempty"`
	ApplyMethod          string `xml:",omitempty"`
	SupportedEngineModes xStringList
}

// xStringList is a list of strings with <member> elements.
type xStringList struct {
	Items []string `xml:"member"`
}

type xParameterList struct {
	Items []xParameter `xml:"Parameter"`
}

type xDBClusterParameterGroup struct {
	DBClusterParameterGroupName string
	DBParameterGroupFamily      string
	Description                 string
	DBClusterParameterGroupArn  string
}

type xDBParameterGroup struct {
	DBParameterGroupName   string
	DBParameterGroupFamily string
	Description            string
	DBParameterGroupArn    string
}

type xEngineDefaults struct {
	DBParameterGroupFamily string
	Marker                 string `xml:",omitempty"`
	Parameters             xParameterList
}

type xDBClusterMember struct {
	DBInstanceIdentifier          string
	IsClusterWriter               bool
	DBClusterParameterGroupStatus string
	PromotionTier                 int32
}

type xClusterPending struct {
	BackupRetentionPeriod *int32 `xml:",omitempty"`
	MasterUserPassword    string `xml:",omitempty"`
	EngineVersion         string `xml:",omitempty"`
}

type xAvailabilityZones struct {
	Items []string `xml:"AvailabilityZone"`
}

type xEmpty struct{}

type xDBCluster struct {
	AllocatedStorage           int32
	AvailabilityZones          xAvailabilityZones
	BackupRetentionPeriod      int32
	DatabaseName               string `xml:",omitempty"`
	DBClusterIdentifier        string
	DBClusterParameterGroup    string
	DBSubnetGroup              string
	Status                     string
	EarliestRestorableTime     string `xml:",omitempty"`
	Endpoint                   string
	ReaderEndpoint             string
	CustomEndpoints            xStringList
	MultiAZ                    bool
	Engine                     string
	EngineVersion              string
	LatestRestorableTime       string `xml:",omitempty"`
	Port                       int32
	MasterUsername             string
	PreferredBackupWindow      string
	PreferredMaintenanceWindow string
	ReadReplicaIdentifiers     xEmpty
	DBClusterMembers           struct {
		Items []xDBClusterMember `xml:"DBClusterMember"`
	}
	DBClusterOptionGroupMemberships  xEmpty
	VpcSecurityGroups                xVpcSecurityGroups
	HostedZoneId                     string
	StorageEncrypted                 bool
	KmsKeyId                         string `xml:",omitempty"`
	DbClusterResourceId              string
	DBClusterArn                     string
	AssociatedRoles                  xEmpty
	IAMDatabaseAuthenticationEnabled bool
	ClusterCreateTime                string
	EnabledCloudwatchLogsExports     xStringList
	EngineMode                       string
	PendingModifiedValues            *xClusterPending `xml:",omitempty"`
	DeletionProtection               bool
	HttpEndpointEnabled              bool
	CopyTagsToSnapshot               bool
	CrossAccountClone                bool
	DomainMemberships                xEmpty
	TagList                          xTagList
	AutoMinorVersionUpgrade          bool
	MonitoringInterval               int32
	PerformanceInsightsEnabled       bool
	DatabaseInsightsMode             string
	StorageType                      string
	NetworkType                      string
	MasterUserSecret                 *xMasterUserSecret `xml:",omitempty"`
	LocalWriteForwardingStatus       string
	CertificateDetails               *xCertificateDetails `xml:",omitempty"`
	EngineLifecycleSupport           string
}

type xVpcSecurityGroup struct {
	VpcSecurityGroupId string
	Status             string
}

type xVpcSecurityGroups struct {
	Items []xVpcSecurityGroup `xml:"VpcSecurityGroupMembership"`
}

type xMasterUserSecret struct {
	SecretArn    string
	SecretStatus string
	KmsKeyId     string
}

type xEndpoint struct {
	Address      string
	Port         int32
	HostedZoneId string
}

type xDBParameterGroupStatus struct {
	DBParameterGroupName string
	ParameterApplyStatus string
}

type xOptionGroupMembership struct {
	OptionGroupName string
	Status          string
}

type xCertificateDetails struct {
	CAIdentifier string
	ValidTill    string `xml:",omitempty"`
}

type xInstancePending struct {
	CACertificateIdentifier string `xml:",omitempty"`
	DBInstanceClass         string `xml:",omitempty"`
}

type xDBInstance struct {
	DBInstanceIdentifier  string
	DBInstanceClass       string
	Engine                string
	DBInstanceStatus      string
	MasterUsername        string
	DBName                string     `xml:",omitempty"`
	Endpoint              *xEndpoint `xml:",omitempty"`
	AllocatedStorage      int32
	InstanceCreateTime    string
	PreferredBackupWindow string
	BackupRetentionPeriod int32
	DBSecurityGroups      xEmpty
	VpcSecurityGroups     xVpcSecurityGroups
	DBParameterGroups     struct {
		Items []xDBParameterGroupStatus `xml:"DBParameterGroup"`
	}
	AvailabilityZone                 string
	DBSubnetGroup                    *xDBSubnetGroup `xml:",omitempty"`
	PreferredMaintenanceWindow       string
	PendingModifiedValues            xInstancePending
	MultiAZ                          bool
	EngineVersion                    string
	AutoMinorVersionUpgrade          bool
	ReadReplicaDBInstanceIdentifiers xEmpty
	LicenseModel                     string
	OptionGroupMemberships           struct {
		Items []xOptionGroupMembership `xml:"OptionGroupMembership"`
	}
	PubliclyAccessible                 bool
	StorageType                        string
	DbInstancePort                     int32
	DBClusterIdentifier                string
	StorageEncrypted                   bool
	KmsKeyId                           string `xml:",omitempty"`
	DbiResourceId                      string
	CACertificateIdentifier            string
	DomainMemberships                  xEmpty
	CopyTagsToSnapshot                 bool
	MonitoringInterval                 int32
	PromotionTier                      int32
	DBInstanceArn                      string
	IAMDatabaseAuthenticationEnabled   bool
	PerformanceInsightsEnabled         bool
	PerformanceInsightsKMSKeyId        string `xml:",omitempty"`
	PerformanceInsightsRetentionPeriod int32  `xml:",omitempty"`
	DatabaseInsightsMode               string
	EnabledCloudwatchLogsExports       xStringList
	DeletionProtection                 bool
	TagList                            xTagList
	CertificateDetails                 *xCertificateDetails `xml:",omitempty"`
	NetworkType                        string
	EngineLifecycleSupport             string
	DedicatedLogVolume                 bool
	CustomerOwnedIpEnabled             bool
	BackupTarget                       string
}

// Results, one per action.

type xDescribeDBClustersResult struct {
	Marker     string `xml:",omitempty"`
	DBClusters struct {
		Items []xDBCluster `xml:"DBCluster"`
	}
}

type xDescribeDBInstancesResult struct {
	Marker      string `xml:",omitempty"`
	DBInstances struct {
		Items []xDBInstance `xml:"DBInstance"`
	}
}

type xDBClusterResult struct {
	DBCluster xDBCluster
}

type xDBInstanceResult struct {
	DBInstance xDBInstance
}

type xParametersResult struct {
	Marker     string `xml:",omitempty"`
	Parameters xParameterList
}

type xEngineDefaultsResult struct {
	EngineDefaults xEngineDefaults
}

type xDescribeDBClusterParameterGroupsResult struct {
	Marker                   string `xml:",omitempty"`
	DBClusterParameterGroups struct {
		Items []xDBClusterParameterGroup `xml:"DBClusterParameterGroup"`
	}
}

type xDescribeDBParameterGroupsResult struct {
	Marker            string `xml:",omitempty"`
	DBParameterGroups struct {
		Items []xDBParameterGroup `xml:"DBParameterGroup"`
	}
}

type xCreateDBClusterParameterGroupResult struct {
	DBClusterParameterGroup xDBClusterParameterGroup
}

type xCreateDBParameterGroupResult struct {
	DBParameterGroup xDBParameterGroup
}

type xClusterGroupNameResult struct {
	DBClusterParameterGroupName string
}

type xGroupNameResult struct {
	DBParameterGroupName string
}
