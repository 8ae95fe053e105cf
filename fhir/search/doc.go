// Package search defines the search index entries that the hub extracts from resources and
// the stores keep beside each version.
package search
