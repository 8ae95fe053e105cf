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

package server

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	breakGlass    prometheus.Counter
	auditFailures prometheus.Counter
	rateLimited   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kodomohub_http_requests_total",
			Help: "HTTP requests by FHIR interaction and status code.",
		}, []string{"interaction", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kodomohub_http_request_duration_seconds",
			Help:    "HTTP request latency by FHIR interaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"interaction"}),
		breakGlass: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kodomohub_break_glass_total",
			Help: "Accesses allowed only by break-glass (each also logged and audited).",
		}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kodomohub_audit_failures_total",
			Help: "Requests failed because their audit record could not be written.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kodomohub_rate_limited_total",
			Help: "Requests refused with 429 by the per-client rate limit.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.breakGlass, m.auditFailures, m.rateLimited)
	return m
}

const interactionKey = "kodomohub.interaction"

// setInteraction names the FHIR interaction a request turned out to be, for metrics. Labels
// never carry tenant or resource ids: metrics are shared by every tenant.
func setInteraction(c *gin.Context, name string) { c.Set(interactionKey, name) }

func (s *Server) instrument(c *gin.Context) {
	start := time.Now()
	c.Next()
	name := c.GetString(interactionKey)
	if name == "" {
		switch c.FullPath() {
		case "/healthz", "/readyz", "/metrics":
			name = c.FullPath()[1:]
		default:
			name = "other"
		}
	}
	s.metrics.requests.WithLabelValues(name, strconv.Itoa(c.Writer.Status())).Inc()
	s.metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
}
