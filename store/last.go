// Copyright 2026 The kodomohub Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package store

import (
	"context"
	"errors"

	"github.com/kodomohub/kodomohub/fhir"
)

// VersionReader reads current and past versions; every Store is one.
type VersionReader interface {
	Read(ctx context.Context, tenant, typ, id string) (fhir.Resource, error)
	VRead(ctx context.Context, tenant, typ, id string, version int64) (fhir.Resource, error)
}

// LastWithBody returns the current version of typ/id, or, when the resource is deleted, its
// last version with a body: what the resource is now or was last, for deciding access to an
// older version or to a deletion. It is nil (and no error) when the resource never existed.
func LastWithBody(ctx context.Context, r VersionReader, tenant, typ, id string) (*fhir.Resource, error) {
	cur, err := r.Read(ctx, tenant, typ, id)
	switch {
	case err == nil:
		return &cur, nil
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case !errors.Is(err, ErrGone):
		return nil, err
	}
	for v := cur.Version - 1; v >= 1; v-- {
		prev, err := r.VRead(ctx, tenant, typ, id, v)
		if err == nil {
			return &prev, nil
		}
		if !errors.Is(err, ErrGone) {
			return nil, err
		}
	}
	return nil, nil
}
