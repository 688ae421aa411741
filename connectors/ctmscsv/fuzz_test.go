package ctmscsv

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/connectors"
)

const fuzzConfig = `
studies:
  path: etudes.csv
  columns: {local_code: "Code", id_rcb: "RCB", target_france: "Obj", status: "Statut", site_opened: "Ouverture"}
inclusions:
  path: inclusions.csv
  columns: {study_ref: "Code", subject_id: "Patient", inclusion_date: "Date", inclusion_status: "Statut"}
values:
  status: {"En cours": recruiting}
  inclusion_status: {"Inclus": included}
batch_size: 7
`

// countDataRows counts, independently of the connector, the rows after the
// header that are not blank: each gives exactly one outcome.
func countDataRows(data []byte) (rows int, headerOK bool) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil {
		return 0, false
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, true
		}
		if err != nil {
			rows++ // a CSV syntax error is one rejected row
			continue
		}
		if strings.TrimSpace(strings.Join(rec, "")) != "" {
			rows++
		}
	}
}

// FuzzParse feeds arbitrary studies and inclusions files to the connector.
// Invariants: it never panics; a fatal error is only a *HeaderError; every
// reject has a line, a code, a file and a reason; each study row gives a
// Study and a Site or one reject; each inclusion row gives an Inclusion or
// one reject.
func FuzzParse(f *testing.F) {
	sh := "Code;RCB;Obj;Statut;Ouverture\n"
	ih := "Code;Patient;Date;Statut\n"
	f.Add([]byte(sh+"A;2024-A00101-11;10;En cours;01/02/2024\n"), []byte(ih+"A;P1;01/02/2024;Inclus\n"))
	f.Add([]byte("\xef\xbb\xbf"+sh+"A;;;En cours;\n\nB;2024-A1;x;?;31/02/2024\n"), []byte(ih+"A;P1;2024-02-30;Inclus\nZ;P2;;\n"))
	f.Add([]byte(sh+"\"A\nB\";;;En cours;01/01/2024\n\"C;;;;\n"), []byte(ih+"\"A\nB\";P\"1;01/01/2024;Inclus\n;;;\n"))
	f.Add([]byte(sh+"A;;;Termin\xe9e;01/01/2024\n"), []byte("Code;Patient\n"))
	f.Add([]byte(""), []byte(ih))
	f.Add([]byte(sh+"a;;;en cours;1/2/2024\nA;;;En cours;01/01/2024\n"), []byte(ih+"a;P;01/01/2024 10:00;inclus\n"))

	cfg, err := Decode([]byte(fuzzConfig))
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir() // each worker process runs one input at a time
	f.Fuzz(func(t *testing.T, studies, inclusions []byte) {
		writeFile(t, filepath.Join(dir, "etudes.csv"), studies)
		writeFile(t, filepath.Join(dir, "inclusions.csv"), inclusions)
		src, err := New(testSettings(dir), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		ctx := context.Background()
		if err := src.Open(ctx, nil); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("Open failed with a non-header error: %v", err)
			}
			_, sok := countDataRows(studies)
			_, iok := countDataRows(inclusions)
			if sok && iok && !strings.Contains(err.Error(), "has no column") && !strings.Contains(err.Error(), "UTF-8") {
				t.Fatalf("Open failed on parsable headers: %v", err)
			}
			return
		}
		var studyRecs, siteRecs, inclRecs, studyRej, inclRej int
		for {
			b, err := src.Read(ctx)
			if errors.Is(err, connectors.ErrEndOfInput) {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(b.Cursor) == 0 {
				t.Fatal("batch without cursor")
			}
			for _, r := range b.Records {
				switch {
				case r.Study != nil:
					studyRecs++
				case r.Site != nil:
					siteRecs++
				case r.Inclusion != nil:
					inclRecs++
					if r.Inclusion.LocalSubjectID == "" || r.Inclusion.InclusionDate.IsZero() || r.Inclusion.Study.IsZero() {
						t.Fatalf("incomplete inclusion: %+v", r.Inclusion)
					}
				}
			}
			for _, r := range b.Rejects {
				if r.Prov.Line <= 0 || r.Code == "" || r.Reason == "" || r.Prov.File == "" {
					t.Fatalf("incomplete reject: %+v", r)
				}
				if r.Prov.File == "etudes.csv" {
					studyRej++
				} else {
					inclRej++
				}
			}
		}
		srows, _ := countDataRows(studies)
		irows, _ := countDataRows(inclusions)
		if studyRecs != siteRecs || studyRecs+studyRej != srows {
			t.Fatalf("studies: %d studies + %d sites + %d rejects for %d rows", studyRecs, siteRecs, studyRej, srows)
		}
		if inclRecs+inclRej != irows {
			t.Fatalf("inclusions: %d records + %d rejects for %d rows", inclRecs, inclRej, irows)
		}
	})
}
