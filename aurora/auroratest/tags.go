package auroratest

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Tags: AddTagsToResource, RemoveTagsFromResource and ListTagsForResource
// on every taggable resource (clusters, instances, both kinds of parameter
// groups, cluster snapshots, custom cluster endpoints), named by ARN, as
// on RDS. Every create action takes Tags, and Describe output carries
// TagList.

// tag is one resource tag.
type tag struct{ key, value string }

// tagList is a resource's tags, in the order they were first set.
type tagList []tag

// tagIn is one Tags.Tag.N.
type tagIn struct {
	Key   string
	Value string
}

// tagsIn is the Tags parameter of a create action; embed it.
type tagsIn struct {
	Tags []tagIn `rds:",list=Tag"`
}

const maxTags = 50

// newTagList validates tags as RDS does: keys of 1 to 128 characters not
// starting with aws: or rds:, values of at most 256, at most 50 tags.
func newTagList(in []tagIn) (tagList, error) {
	var out tagList
	return out.with(in)
}

// with returns l with the tags in set (added, or their values replaced).
func (l tagList) with(in []tagIn) (tagList, error) {
	out := slices.Clone(l)
	for _, t := range in {
		if t.Key == "" || len(t.Key) > 128 {
			return nil, errInvalidValue("Tag keys must be 1 to 128 characters long: %q.", t.Key)
		}
		if lk := strings.ToLower(t.Key); strings.HasPrefix(lk, "aws:") || strings.HasPrefix(lk, "rds:") {
			return nil, errInvalidValue("Tag keys cannot start with aws: or rds: (%q).", t.Key)
		}
		if len(t.Value) > 256 {
			return nil, errInvalidValue("Tag values must be at most 256 characters long (tag %q).", t.Key)
		}
		if i := slices.IndexFunc(out, func(x tag) bool { return x.key == t.Key }); i >= 0 {
			out[i].value = t.Value
		} else {
			out = append(out, tag{t.Key, t.Value})
		}
	}
	if len(out) > maxTags {
		return nil, &apiError{http.StatusBadRequest, "TagQuotaPerResourceExceeded", "A resource can have at most 50 tags."}
	}
	return out, nil
}

// without returns l without the given keys.
func (l tagList) without(keys []string) tagList {
	return slices.DeleteFunc(slices.Clone(l), func(t tag) bool { return slices.Contains(keys, t.key) })
}

// x renders the tags as a TagList.
func (l tagList) x() xTagList {
	var x xTagList
	for _, t := range l {
		x.Items = append(x.Items, xTag{Key: t.key, Value: t.value})
	}
	return x
}

type xTag struct {
	Key   string
	Value string
}

type xTagList struct {
	Items []xTag `xml:"Tag"`
}

type xTagListResult struct {
	TagList xTagList
}

type addTagsIn struct {
	ResourceName string `rds:",required"`
	tagsIn
}

type removeTagsIn struct {
	ResourceName string   `rds:",required"`
	TagKeys      []string `rds:",list=member"`
}

type listTagsIn struct {
	ResourceName string `rds:",required"`
	filtersIn
}

// tagsOf finds the tags of the resource an ARN names.
func (e *Emulator) tagsOf(st *state, arn string) (*tagList, error) {
	prefix := "arn:aws:rds:" + e.region + ":" + e.account + ":"
	rest, ok := strings.CutPrefix(arn, prefix)
	kind, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || name == "" {
		return nil, errInvalidValue("Invalid resource name: %s. Use the ARN of an RDS resource of this account (%s...).", arn, prefix)
	}
	switch kind {
	case "cluster":
		if c, ok := st.cluster(e, name); ok {
			return &c.tags, nil
		}
		return nil, errClusterNotFound(name)
	case "db":
		if in, ok := st.instance(e, name); ok {
			return &in.tags, nil
		}
		return nil, errInstanceNotFound(name)
	case "cluster-pg", "pg":
		k := clusterKind
		if kind == "pg" {
			k = instanceKind
		}
		if g, ok := st.group(e, k, name); ok {
			return &g.tags, nil
		}
		return nil, errGroupNotFound(k, name)
	case "cluster-snapshot":
		if s, ok := st.snapshot(e, name); ok {
			return &s.tags, nil
		}
		return nil, errSnapshotNotFound(name)
	case "cluster-endpoint":
		if ep, ok := st.endpoint(e, name); ok {
			return &ep.tags, nil
		}
		return nil, errEndpointNotFound(name)
	}
	return nil, errInvalidValue("Invalid resource name: %s. auroratest tags clusters, instances, parameter groups, cluster snapshots and cluster endpoints.", arn)
}

func (e *Emulator) addTagsToResource(ctx context.Context, in *addTagsIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	tags, err := e.tagsOf(st, in.ResourceName)
	if err != nil {
		return nil, err
	}
	next, err := tags.with(in.Tags)
	if err != nil {
		return nil, err
	}
	*tags = next
	return nil, nil
}

func (e *Emulator) removeTagsFromResource(ctx context.Context, in *removeTagsIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	tags, err := e.tagsOf(st, in.ResourceName)
	if err != nil {
		return nil, err
	}
	*tags = tags.without(in.TagKeys)
	return nil, nil
}

func (e *Emulator) listTagsForResource(ctx context.Context, in *listTagsIn) (any, error) {
	if len(in.Filters) > 0 {
		return nil, errInvalidValue("ListTagsForResource does not support Filters.")
	}
	st := e.lock()
	defer st.unlock()
	tags, err := e.tagsOf(st, in.ResourceName)
	if err != nil {
		return nil, err
	}
	return xTagListResult{TagList: tags.x()}, nil
}
