// Package storetest provides the conformance suite of the storage contract in package store:
// Run checks any store.Store against every promise of that contract, so backends cannot drift
// apart. A backend is done when its test calls Run and passes.
//
// The suite checks behaviour visible through store.Store only. Index entries are not
// searchable through the contract yet, so their atomicity is checked indirectly (a Commit
// that failed can be repeated with the same entries).
package storetest
