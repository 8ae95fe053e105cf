package main

import (
	"flag"
	"fmt"
	"log/slog"

	"github.com/kodomohub/kodomohub/store"
	"github.com/kodomohub/kodomohub/store/sqlite"
)

// storageFlags select the backend, the same way for every command.
type storageFlags struct {
	data     string
	mongoURI string
	mongoDB  string
	sync     string
}

func (f *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "data directory of the embedded store")
	fs.StringVar(&f.mongoURI, "mongo-uri", "", "MongoDB connection string (instead of --data)")
	fs.StringVar(&f.mongoDB, "mongo-db", "kodomohub", "MongoDB database name")
	fs.StringVar(&f.sync, "sqlite-synchronous", "NORMAL", "embedded store durability: NORMAL (survives process crashes) or FULL (survives power loss)")
}

func (f *storageFlags) open(log *slog.Logger) (store.Store, error) {
	switch {
	case f.data != "" && f.mongoURI != "":
		return nil, fmt.Errorf("%w: give --data or --mongo-uri, not both", errUsage)
	case f.mongoURI != "":
		return nil, fmt.Errorf("the MongoDB backend is not available in this build yet; use --data")
	case f.data == "":
		return nil, fmt.Errorf("%w: --data DIR (or --mongo-uri) is required", errUsage)
	}
	s, err := sqlite.Open(f.data, sqlite.Options{Synchronous: f.sync})
	if err != nil {
		return nil, err
	}
	log.Debug("opened embedded store", "dir", f.data)
	return s, nil
}
