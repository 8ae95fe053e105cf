package mongo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/mongo"
	"github.com/kodomohub/kodomohub/store/mongo/mongotest"
)

// TestTwoStoresIfMatch runs concurrent If-Match updates of one resource through two Stores
// on one database (as two hub processes would): no update is lost and the sequence numbers
// of the events stay unique and increasing.
func TestTwoStoresIfMatch(t *testing.T) {
	ctx := context.Background()
	uri, db := mongotest.URI(t), mongotest.DBName()
	a := mustOpen(t, uri, mongo.Options{Database: db, Timeout: time.Minute})
	b := mustOpen(t, uri, mongo.Options{Database: db, Timeout: time.Minute})
	if err := a.CreateTenant(ctx, store.Tenant{ID: "misato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx, "misato", []store.Write{{Type: "Basic", ID: "c", Action: store.Create, Resource: []byte(`{"resourceType":"Basic","n":0}`)}}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := []*mongo.Store{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				cur, err := s.Read(ctx, "misato", "Basic", "c")
				if err != nil {
					errs <- err
					return
				}
				var v struct{ N int }
				json.Unmarshal(cur.Raw, &v)
				_, err = s.Commit(ctx, "misato", []store.Write{{Type: "Basic", ID: "c", Action: store.Update, IfMatch: cur.Version,
					Resource: fmt.Appendf(nil, `{"resourceType":"Basic","n":%d}`, v.N+1)}})
				switch {
				case errors.Is(err, store.ErrVersionConflict):
				case err != nil:
					errs <- err
					return
				default:
					i++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := a.Read(ctx, "misato", "Basic", "c")
	if err != nil || got.Version != 1+workers*each {
		t.Fatalf("counter at v%d (%v), want v%d: an update was lost", got.Version, err, 1+workers*each)
	}
	evs, err := b.Events(ctx, "misato", 0, 1000)
	if err != nil || len(evs) != 1+workers*each {
		t.Fatalf("%d events (%v), want %d", len(evs), err, 1+workers*each)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("seqs not increasing: %v", evs)
		}
	}
}
