package server

import (
	"net/http"
	"slices"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/store"
)

// Capabilities describes what this server serves; the CapabilityStatement is built from it,
// and the dispatcher in fhir.go serves exactly these interactions.
type Capabilities struct {
	Base               string
	Version            string
	ResourceTypes      []string
	TypeInteractions   []string
	SystemInteractions []string
	Formats            []string
	PatchFormats       []string
}

// The interactions the dispatcher serves (names as in the CapabilityStatement).
var (
	typeInteractions   = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create"}
	systemInteractions = []string{"transaction", "batch", "history-system"}
)

// Supported returns what the server serves for a tenant whose FHIR base is base.
func (s *Server) Supported(base string) Capabilities {
	return Capabilities{
		Base:               base,
		Version:            s.version,
		ResourceTypes:      slices.Clone(fhir.ResourceTypes),
		TypeInteractions:   slices.Clone(typeInteractions),
		SystemInteractions: slices.Clone(systemInteractions),
		Formats:            []string{mimeFHIRJSON, mimeJSON},
		PatchFormats:       []string{mimeJSONPatch},
	}
}

var capabilityCache sync.Map // base URL → []byte

func (s *Server) metadata(c *gin.Context, tenant store.Tenant) {
	base := s.baseURL(c.Request, tenant.ID)
	if b, ok := capabilityCache.Load(s.version + " " + base); ok {
		s.write(c, http.StatusOK, b.([]byte))
		return
	}
	b, err := s.capability(s.Supported(base))
	if err != nil {
		s.writeError(c, err)
		return
	}
	capabilityCache.Store(s.version+" "+base, b)
	s.write(c, http.StatusOK, b)
}
