package main

import (
	"go.yaml.in/yaml/v3"

	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/connectors/ctmscsv"
	"github.com/fr-it4ct/it4ct/ingest"
)

// sourceFactories is the one list of connector kinds this binary is built
// with. Adding a connector = implementing connectors.Source + one line here.
func sourceFactories() ingest.Factories {
	return ingest.Factories{
		ctmscsv.Type: func(set connectors.Settings, node *yaml.Node) (connectors.Source, error) {
			cfg, err := ctmscsv.DecodeNode(node)
			if err != nil {
				return nil, err
			}
			return ctmscsv.New(set, cfg)
		},
	}
}
