package conformance_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/fr-it4ct/it4ct/conformance"
)

// conformsTo is a small, test-only profile checker: it reads the
// differential of profileURL from the conformance package and checks doc
// against every cardinality, fixed uri and binding it states, and every
// extension against the published extension definitions. It exists to prove
// that the published profiles describe what mapping emits; the product
// validator lives in mapping.
func conformsTo(doc map[string]any, profileURL string) []string {
	els, ok := conformance.Differential(profileURL)
	if !ok {
		return []string{"profile " + profileURL + " is not published"}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// slice name -> extension url, for the top-level extension slices.
	sliceURL := map[string]string{}
	for _, e := range els {
		if e.SliceName != "" && len(e.Types) == 1 && len(e.Types[0].Profile) == 1 {
			sliceURL[e.ID] = e.Types[0].Profile[0]
		}
	}
	root := strings.SplitN(els[0].ID, ".", 2)[0]
	if doc["resourceType"] != root {
		add("resourceType %v, profile is on %s", doc["resourceType"], root)
		return problems
	}
	for _, e := range els[1:] {
		parentID, last := e.ID[:strings.LastIndex(e.ID, ".")], e.ID[strings.LastIndex(e.ID, ".")+1:]
		for _, parent := range nodesAt(doc, parentID, sliceURL) {
			vals := step(parent, last, parentID, sliceURL)
			if e.Min != nil && len(vals) < *e.Min {
				add("%s: %d values, min %d", e.ID, len(vals), *e.Min)
			}
			if e.Max == "0" && len(vals) > 0 || e.Max == "1" && len(vals) > 1 {
				add("%s: %d values, max %s", e.ID, len(vals), e.Max)
			}
			for _, v := range vals {
				if e.FixedURI != "" && v != e.FixedURI {
					add("%s: %v, fixed %s", e.ID, v, e.FixedURI)
				}
				if e.Binding != nil {
					problems = append(problems, checkBinding(e.ID, v, e.Binding.ValueSet)...)
				}
				for _, t := range e.Types {
					for _, p := range t.Profile {
						if m, ok := v.(map[string]any); ok {
							problems = append(problems, checkExtension(e.ID, m, p)...)
						}
					}
				}
			}
		}
	}
	// Every extension present must be declared by a slice of the profile.
	for _, x := range asList(doc["extension"]) {
		url, _ := x.(map[string]any)["url"].(string)
		declared := false
		for _, u := range sliceURL {
			declared = declared || u == url
		}
		if !declared {
			add("extension %s is not a slice of %s", url, profileURL)
		}
	}
	return problems
}

// checkExtension checks one extension instance against its published
// definition: url, sub-extension slices, value types.
func checkExtension(where string, ext map[string]any, url string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	els, ok := conformance.Differential(url)
	if !ok {
		return []string{where + ": extension " + url + " is not published"}
	}
	if ext["url"] != url {
		add("%s: url %v, want %s", where, ext["url"], url)
	}
	types := map[string][]string{} // "" for the value of a simple extension; slice name otherwise
	subMin := map[string]int{}
	for _, e := range els {
		switch {
		case e.ID == "Extension.value[x]" && e.Max != "0":
			for _, t := range e.Types {
				types[""] = append(types[""], t.Code)
			}
		case strings.HasPrefix(e.ID, "Extension.extension:") && strings.HasSuffix(e.ID, ".value[x]"):
			name := strings.TrimSuffix(strings.TrimPrefix(e.ID, "Extension.extension:"), ".value[x]")
			for _, t := range e.Types {
				types[name] = append(types[name], t.Code)
			}
		case e.SliceName != "" && e.Min != nil:
			subMin[e.SliceName] = *e.Min
		}
	}
	valueType := func(m map[string]any) (string, int) {
		var ts []string
		for k := range m {
			if strings.HasPrefix(k, "value") {
				ts = append(ts, strings.ToLower(k[5:6])+k[6:])
			}
		}
		if len(ts) != 1 {
			return "", len(ts)
		}
		return ts[0], 1
	}
	subs := asList(ext["extension"])
	if _, simple := types[""]; simple {
		t, n := valueType(ext)
		if n != 1 || !slices.ContainsFunc(types[""], func(c string) bool { return strings.EqualFold(c, t) }) {
			add("%s: value of type %q, want one of %v", where, t, types[""])
		}
		if len(subs) > 0 {
			add("%s: simple extension has sub-extensions", where)
		}
		return problems
	}
	seen := map[string]int{}
	for _, s := range subs {
		m := s.(map[string]any)
		name, _ := m["url"].(string)
		seen[name]++
		want, ok := types[name]
		if !ok {
			add("%s: sub-extension %q is not defined by %s", where, name, url)
			continue
		}
		if t, n := valueType(m); n != 1 || !slices.ContainsFunc(want, func(c string) bool { return strings.EqualFold(c, t) }) {
			add("%s.extension:%s: value of type %q, want one of %v", where, name, t, want)
		}
	}
	for name, min := range subMin {
		if seen[name] < min {
			add("%s: sub-extension %q missing", where, name)
		}
	}
	return problems
}

// checkBinding checks that a code or every coding of a CodeableConcept is in
// the value set (stricter than FHIR for extensible bindings: mapping must
// only emit published codes).
func checkBinding(where string, v any, valueSet string) []string {
	vs, ok := conformance.ValueSetCodes(valueSet)
	if !ok {
		return []string{where + ": value set " + valueSet + " is not known"}
	}
	var problems []string
	switch x := v.(type) {
	case string:
		found := false
		for _, codes := range vs {
			found = found || codes[x]
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: code %q is not in %s", where, x, valueSet))
		}
	case map[string]any:
		codings := asList(x["coding"])
		if len(codings) == 0 {
			problems = append(problems, where+": no coding")
		}
		for _, c := range codings {
			m := c.(map[string]any)
			sys, _ := m["system"].(string)
			code, _ := m["code"].(string)
			if !vs[sys][code] {
				problems = append(problems, fmt.Sprintf("%s: %s#%s is not in %s", where, sys, code, valueSet))
			}
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: cannot bind a %T", where, v))
	}
	return problems
}

// nodesAt returns the values at an element id, e.g.
// "ResearchStudy.extension:progressStatus.extension:state.value[x]".
func nodesAt(doc map[string]any, id string, sliceURL map[string]string) []any {
	segs := strings.Split(id, ".")
	nodes := []any{doc}
	prefix := segs[0]
	for _, seg := range segs[1:] {
		var next []any
		for _, n := range nodes {
			next = append(next, step(n, seg, prefix, sliceURL)...)
		}
		nodes = next
		prefix += "." + seg
	}
	return nodes
}

// step goes one segment down from node: "name", "name:slice" (extension
// slices: by the slice's profile url at the top level, by the slice name
// inside an extension) or "value[x]".
func step(node any, seg, parentID string, sliceURL map[string]string) []any {
	m, ok := node.(map[string]any)
	if !ok {
		return nil
	}
	name, slice, _ := strings.Cut(seg, ":")
	var vals []any
	if name == "value[x]" {
		for k, v := range m {
			if strings.HasPrefix(k, "value") {
				vals = append(vals, v)
			}
		}
		return vals
	}
	vals = asList(m[name])
	if slice == "" {
		return vals
	}
	url, ok := sliceURL[parentID+"."+seg]
	if !ok {
		url = slice
	}
	var out []any
	for _, v := range vals {
		if vm, ok := v.(map[string]any); ok && vm["url"] == url {
			out = append(out, v)
		}
	}
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

func decode(b []byte) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(b, &m)
	return m, err
}
