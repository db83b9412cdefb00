package auroratest

import (
	"context"
	"net/http"
)

// DB subnet groups: the account's default group, which every cluster and
// instance reports, in the default VPC with one subnet per availability
// zone and the VPC's default security group.

const (
	defaultSubnetGroup   = "default"
	defaultVPC           = "vpc-0a1b2c3d4e5f60718"
	defaultSecurityGroup = "sg-0a1b2c3d4e5f60718"
)

type xSubnet struct {
	SubnetIdentifier       string
	SubnetAvailabilityZone struct{ Name string }
	SubnetStatus           string
}

type xDBSubnetGroup struct {
	DBSubnetGroupName        string
	DBSubnetGroupDescription string
	VpcId                    string
	SubnetGroupStatus        string
	Subnets                  struct {
		Items []xSubnet `xml:"Subnet"`
	}
	DBSubnetGroupArn      string
	SupportedNetworkTypes xStringList
}

func (e *Emulator) xSubnetGroup() xDBSubnetGroup {
	g := xDBSubnetGroup{DBSubnetGroupName: defaultSubnetGroup, DBSubnetGroupDescription: "default", VpcId: defaultVPC,
		SubnetGroupStatus: "Complete", DBSubnetGroupArn: e.arn("subgrp", defaultSubnetGroup),
		SupportedNetworkTypes: xStringList{Items: []string{"IPV4"}}}
	for i, az := range availabilityZones {
		s := xSubnet{SubnetIdentifier: "subnet-0a1b2c3d4e5f6071" + string(rune('a'+i)), SubnetStatus: "Active"}
		s.SubnetAvailabilityZone.Name = az
		g.Subnets.Items = append(g.Subnets.Items, s)
	}
	return g
}

type describeSubnetGroupsIn struct {
	DBSubnetGroupName string
	listIn
}

var subnetGroupFilters = filterSet[xDBSubnetGroup]{}

func (e *Emulator) describeDBSubnetGroups(ctx context.Context, in *describeSubnetGroupsIn) (any, error) {
	if in.DBSubnetGroupName != "" && in.DBSubnetGroupName != defaultSubnetGroup {
		return nil, &apiError{http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup " + in.DBSubnetGroupName + " not found."}
	}
	items, next, err := describe([]xDBSubnetGroup{e.xSubnetGroup()}, subnetGroupFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res struct {
		Marker         string `xml:",omitempty"`
		DBSubnetGroups struct {
			Items []xDBSubnetGroup `xml:"DBSubnetGroup"`
		}
	}
	res.Marker, res.DBSubnetGroups.Items = next, items
	return res, nil
}
