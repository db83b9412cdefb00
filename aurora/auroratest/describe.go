package auroratest

import (
	"slices"
	"strings"
)

// The one Describe helper: Filters, Marker and MaxRecords, for every
// action that lists things.

// pageIn is the Marker and MaxRecords of a request; embed it in a
// request struct.
type pageIn struct {
	Marker     string
	MaxRecords *int
}

// filtersIn is a request's Filters list; embed it in a request struct.
type filtersIn struct {
	Filters []filterIn `rds:",list=Filter"`
}

// filterIn is one Filters.Filter.N.
type filterIn struct {
	Name   string   `rds:",required"`
	Values []string `rds:",list=Value"`
}

// listIn is what a Describe request with filters and paging embeds.
type listIn struct {
	pageIn
	filtersIn
}

// filterSet declares the filters a Describe action supports: for each
// filter name, the values of an item that the filter's values are
// compared with (case-insensitively; an item matches a filter when one of
// its values equals one of the filter's, and matches the request when it
// matches every filter). A nil filterSet supports none.
type filterSet[T any] map[string]func(T) []string

// check refuses filters the set does not support, and malformed ones.
func (fs filterSet[T]) check(filters []filterIn) error {
	for _, f := range filters {
		if _, ok := fs[f.Name]; !ok {
			if len(fs) == 0 {
				return errInvalidValue("Unrecognized filter name: %s. This action supports no filters.", f.Name)
			}
			names := make([]string, 0, len(fs))
			for n := range fs {
				names = append(names, n)
			}
			slices.Sort(names)
			return errInvalidValue("Unrecognized filter name: %s. auroratest supports %s.", f.Name, strings.Join(names, ", "))
		}
		if len(f.Values) == 0 {
			return errInvalidValue("Filter %s must have at least one value.", f.Name)
		}
	}
	return nil
}

func (fs filterSet[T]) match(item T, filters []filterIn) bool {
	for _, f := range filters {
		have := fs[f.Name](item)
		if !slices.ContainsFunc(f.Values, func(want string) bool {
			return slices.ContainsFunc(have, func(v string) bool { return strings.EqualFold(v, want) })
		}) {
			return false
		}
	}
	return true
}

// describe filters items and returns the requested page of them and the
// marker of the next page ("" on the last one). MaxRecords is 20 to 100
// (default 100) unless maxDefault asks otherwise.
func describe[T any](items []T, fs filterSet[T], filters []filterIn, p pageIn) ([]T, string, error) {
	if err := fs.check(filters); err != nil {
		return nil, "", err
	}
	if err := p.check(); err != nil {
		return nil, "", err
	}
	var kept []T
	for _, it := range items {
		if fs.match(it, filters) {
			kept = append(kept, it)
		}
	}
	return page(kept, p)
}

// check validates MaxRecords and Marker before any effect.
func (p pageIn) check() error {
	if p.MaxRecords != nil && (*p.MaxRecords < 20 || *p.MaxRecords > 100) {
		return errInvalidValue("Invalid value %d for MaxRecords. Must be between 20 and 100", *p.MaxRecords)
	}
	if p.Marker != "" {
		if _, err := decodeMarker(p.Marker); err != nil {
			return errInvalidValue("Invalid Marker %q: pass the Marker of a previous response unchanged.", p.Marker)
		}
	}
	return nil
}

// page returns the page of items that p asks for.
func page[T any](items []T, p pageIn) ([]T, string, error) {
	if err := p.check(); err != nil {
		return nil, "", err
	}
	size := 100
	if p.MaxRecords != nil {
		size = *p.MaxRecords
	}
	from := 0
	if p.Marker != "" {
		from, _ = decodeMarker(p.Marker)
		if from > len(items) {
			return nil, "", errInvalidValue("Invalid Marker %q: pass the Marker of a previous response unchanged.", p.Marker)
		}
	}
	to := min(from+size, len(items))
	next := ""
	if to < len(items) {
		next = encodeMarker(to)
	}
	return items[from:to], next, nil
}
