package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeBackend is an in-memory Backend over the resources of testdata/, with
// fault injection.
type fakeBackend struct {
	mu         sync.Mutex
	resources  map[string][]byte // "Type/id" -> JSON
	order      []string          // keys, sorted
	err        error             // returned by every method when set
	indicators any               // returned by Indicators
	calls      []string          // Indicators calls, "year/establishment"
}

type fakeResource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Identifier   []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Study struct {
		Reference string `json:"reference"`
	} `json:"study"`
}

func newFakeBackend(t testing.TB) *fakeBackend {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test resources in testdata: %v", err)
	}
	f := &fakeBackend{resources: map[string][]byte{}}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var r fakeResource
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key := r.ResourceType + "/" + r.ID
		if _, dup := f.resources[key]; dup {
			t.Fatalf("%s: duplicate %s", name, key)
		}
		f.resources[key] = b
		f.order = append(f.order, key)
	}
	slices.Sort(f.order)
	return f
}

func (f *fakeBackend) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeBackend) decode(key string) fakeResource {
	var r fakeResource
	if err := json.Unmarshal(f.resources[key], &r); err != nil {
		panic(err)
	}
	return r
}

func (f *fakeBackend) Resource(ctx context.Context, resourceType, id string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, false, f.err
	}
	b, ok := f.resources[resourceType+"/"+id]
	return b, ok, nil
}

func (f *fakeBackend) StudiesByIdentifier(ctx context.Context, system, value string) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out [][]byte
	for _, key := range f.order {
		if !strings.HasPrefix(key, "ResearchStudy/") {
			continue
		}
		for _, id := range f.decode(key).Identifier {
			if id.Value == value && (system == "" || id.System == system) {
				out = append(out, f.resources[key])
				break
			}
		}
	}
	return out, nil
}

func (f *fakeBackend) SubjectsByStudy(ctx context.Context, studyID string) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out [][]byte
	for _, key := range f.order {
		if strings.HasPrefix(key, "ResearchSubject/") && f.decode(key).Study.Reference == "ResearchStudy/"+studyID {
			out = append(out, f.resources[key])
		}
	}
	return out, nil
}

func (f *fakeBackend) Indicators(ctx context.Context, year int, establishment string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.TrimSuffix(strings.Join([]string{itoa(year), establishment}, "/"), "/"))
	if f.err != nil {
		return nil, f.err
	}
	return f.indicators, nil
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

type contextT = context.Context
