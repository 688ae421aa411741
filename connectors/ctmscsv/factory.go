package ctmscsv

import (
	"go.yaml.in/yaml/v3"

	"github.com/fr-it4ct/it4ct/connectors"
)

// Factory builds a ctms-csv source from the `settings` node of a source in
// the connect configuration (unknown keys are errors). It does no I/O.
func Factory(set connectors.Settings, node *yaml.Node) (connectors.Source, error) {
	cfg, err := DecodeNode(node)
	if err != nil {
		return nil, err
	}
	return New(set, cfg)
}
