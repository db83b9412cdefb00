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
	EarliestRestorableTime     string
	Endpoint                   string
	ReaderEndpoint             string
	MultiAZ                    bool
	Engine                     string
	EngineVersion              string
	LatestRestorableTime       string
	Port                       int32
	MasterUsername             string
	PreferredBackupWindow      string
	PreferredMaintenanceWindow string
	ReadReplicaIdentifiers     xEmpty
	DBClusterMembers           struct {
		Items []xDBClusterMember `xml:"DBClusterMember"`
	}
	VpcSecurityGroups                xEmpty
	HostedZoneId                     string
	StorageEncrypted                 bool
	DbClusterResourceId              string
	DBClusterArn                     string
	AssociatedRoles                  xEmpty
	IAMDatabaseAuthenticationEnabled bool
	ClusterCreateTime                string
	EngineMode                       string
	PendingModifiedValues            *xClusterPending `xml:",omitempty"`
	DeletionProtection               bool
	HttpEndpointEnabled              bool
	CopyTagsToSnapshot               bool
	CrossAccountClone                bool
	DomainMemberships                xEmpty
	TagList                          xEmpty
	StorageType                      string
	NetworkType                      string
	MasterUserSecret                 *xMasterUserSecret `xml:",omitempty"`
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
}

type xDBInstance struct {
	DBInstanceIdentifier  string
	DBInstanceClass       string
	Engine                string
	DBInstanceStatus      string
	MasterUsername        string
	DBName                string `xml:",omitempty"`
	Endpoint              xEndpoint
	AllocatedStorage      int32
	InstanceCreateTime    string
	PreferredBackupWindow string
	BackupRetentionPeriod int32
	DBSecurityGroups      xEmpty
	VpcSecurityGroups     xEmpty
	DBParameterGroups     struct {
		Items []xDBParameterGroupStatus `xml:"DBParameterGroup"`
	}
	AvailabilityZone                 string
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
	PubliclyAccessible               bool
	StorageType                      string
	DbInstancePort                   int32
	DBClusterIdentifier              string
	StorageEncrypted                 bool
	DbiResourceId                    string
	CACertificateIdentifier          string
	DomainMemberships                xEmpty
	CopyTagsToSnapshot               bool
	MonitoringInterval               int32
	PromotionTier                    int32
	DBInstanceArn                    string
	IAMDatabaseAuthenticationEnabled bool
	PerformanceInsightsEnabled       bool
	DeletionProtection               bool
	TagList                          xEmpty
	CertificateDetails               *xCertificateDetails `xml:",omitempty"`
	NetworkType                      string
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
