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

package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kodomohub/kodomohub/outbox"
	"github.com/kodomohub/kodomohub/store"
)

// startOutbox starts serve's outbox consumers on st: for now Changes, the count of changes per
// tenant, type and action. It returns the registry /metrics serves (the process and Go
// collectors, and the consumers' metrics) and a stop that ends the consumers, acknowledging
// what they handled and releasing their leases.
func startOutbox(ctx context.Context, st store.Store, log *slog.Logger) (*prometheus.Registry, func(), error) {
	changes := &outbox.Changes{}
	// Batches of 1000: counting costs nothing, and each batch is one acknowledgement, a write
	// that SQLite's writer takes between commits.
	loop, err := outbox.New(outbox.Config{Store: st, Handler: changes, Name: outbox.ChangesName, Batch: 1000, Log: log})
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector(),
		changesCollector{changes})
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { loop.Run(ctx) })
	return reg, func() { cancel(); wg.Wait() }, nil
}

// changesCollector exposes outbox.Changes as kodomohub_changes_total.
type changesCollector struct{ changes *outbox.Changes }

var changesDesc = prometheus.NewDesc("kodomohub_changes_total",
	"Change events (resource versions written) handled by this process's outbox consumer \"changes\", by tenant, "+
		"resource type and action; at least once. Processes sharing a store share the events: sum over them.",
	[]string{"tenant", "type", "action"}, nil)

func (c changesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- changesDesc }

func (c changesCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.changes.Counts() {
		ch <- prometheus.MustNewConstMetric(changesDesc, prometheus.CounterValue, float64(n.N), n.Tenant, n.Type, string(n.Action))
	}
}
