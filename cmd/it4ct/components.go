package main

import (
	"github.com/fr-it4ct/it4ct/connectors/ctmscsv"
	"github.com/fr-it4ct/it4ct/ingest"
)

// sourceFactories is the one list of connector kinds this binary is built
// with. Adding a connector = implementing connectors.Source + one line here.
func sourceFactories() ingest.Factories {
	return ingest.Factories{
		ctmscsv.Type: ctmscsv.Factory,
	}
}
