// Package bench provides bounded HTTP load generators for a kodomohub FHIR endpoint, a
// deterministic synthetic workload of child-family transaction bundles, a latency recorder
// with exact percentiles, and a Markdown report of the results.
//
// Every run is bounded by a request count, a duration or both, and stops by itself. Traffic
// goes only to the loopback URL it is given, plus that server's /metrics, which is scraped
// once a second for process_resident_memory_bytes to report the server's peak RSS.
//
// Ids are deterministic: resource n of the workload with seed s is stored with PUT as
// "bench-s-n" (see Workload.Ref), so a read run given the same seed, bundle size and
// resource count picks existing resources at random without listing them first.
package bench
