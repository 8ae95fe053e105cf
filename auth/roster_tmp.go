package auth

import (
	"context"
	"slices"
)

// Roster answers whether a child is on a facility's roster: enrolled (EpisodeOfCare with
// the facility as managingOrganization, active now) or a member of the facility's Group, as
// the town keeps it.
type Roster interface {
	// OnRoster reports whether patient ("Patient/ID") is on facility's ("Organization/ID")
	// roster in tenant.
	OnRoster(ctx context.Context, tenant, facility, patient string) (bool, error)
	// Patients returns facility's whole roster in tenant.
	Patients(ctx context.Context, tenant, facility string) (RosterSet, error)
}

// RosterSet is a facility's roster: a set of "Patient/ID".
type RosterSet struct {
	ids []string // sorted
}

// NewRosterSet returns the set of ids.
func NewRosterSet(ids ...string) RosterSet {
	s := slices.Clone(ids)
	slices.Sort(s)
	return RosterSet{ids: slices.Compact(s)}
}

// Has reports whether patient is on the roster.
func (r RosterSet) Has(patient string) bool {
	_, ok := slices.BinarySearch(r.ids, patient)
	return ok
}

// IDs returns the patients, sorted.
func (r RosterSet) IDs() []string { return r.ids }

// Len is the number of patients.
func (r RosterSet) Len() int { return len(r.ids) }
