package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/connectors/ctmscsv"
	"github.com/fr-it4ct/it4ct/ingest"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

const benchFINESS = "990000013"

// writeExport writes a fictional CTMS export: 10 studies, n inclusions.
func writeExport(b *testing.B, dir string, n int) ctmscsv.Config {
	b.Helper()
	st, err := os.Create(filepath.Join(dir, "etudes.csv"))
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintln(st, "Code;ID-RCB;Titre;Promoteur;FINESS promoteur;Type;Catégorie;Phase;Statut;Ouverture")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(st, "S%02d;2024-A%05d-%02d;Étude fictive %d;CHU Fictif;%s;academic;RIPH1;II;recruiting;01/02/2024\n", i, i, i%100, i, benchFINESS)
	}
	st.Close()
	in, err := os.Create(filepath.Join(dir, "inclusions.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(in)
	fmt.Fprintln(w, "Code;Patient;Date;Statut")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "S%02d;P-%07d;%02d/%02d/2024;included\n", i%10, i, 1+i%28, 3+i%9)
	}
	w.Flush()
	in.Close()
	cfg := ctmscsv.DefaultConfig()
	cfg.Studies.Path, cfg.Inclusions.Path = "etudes.csv", "inclusions.csv"
	if bs := os.Getenv("IT4CT_BENCH_BATCH"); bs != "" {
		fmt.Sscan(bs, &cfg.BatchSize)
	}
	cfg.Studies.Columns = map[string]string{"local_code": "Code", "id_rcb": "ID-RCB", "title": "Titre", "sponsor_name": "Promoteur",
		"sponsor_finess": "FINESS promoteur", "sponsor_type": "Type", "category": "Catégorie", "phase": "Phase", "status": "Statut", "site_opened": "Ouverture"}
	cfg.Inclusions.Columns = map[string]string{"study_ref": "Code", "subject_id": "Patient", "inclusion_date": "Date", "inclusion_status": "Statut"}
	return cfg
}

func startBroker(b *testing.B) (*stream.Producer, func()) {
	b.Helper()
	ctx := context.Background()
	br, err := stream.StartBroker(ctx, stream.BrokerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := stream.NewProducer(ctx, br.Addrs())
	if err != nil {
		b.Fatal(err)
	}
	if err := p.EnsureTopics(ctx, stream.Topic(benchFINESS, "ResearchStudy"), stream.Topic(benchFINESS, "ResearchSubject"), "it4ct.bench.raw"); err != nil {
		b.Fatal(err)
	}
	return p, func() { p.Close(); br.Close() }
}

// BenchmarkConnectorPath measures the whole hospital-side path on 20,000
// inclusions: CSV parsing, canonical records, FHIR mapping with validation
// and HMAC pseudonyms, publication to the in-process kfake broker with acks,
// and the cursor. Its baseline, BenchmarkConnectorPathBaseline, reads the
// same file's lines and publishes them raw to the same broker: the ratio
// between the two is the cost of what the product adds.
func BenchmarkConnectorPath(b *testing.B) {
	const n = 20000
	dir := b.TempDir()
	cfg := writeExport(b, dir, n)
	pub, stop := startBroker(b)
	defer stop()
	key, err := mapping.NewPseudonymKey("bench", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := mapping.NewMapper(benchFINESS, key)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := ctmscsv.New(connectors.Settings{SourceID: "bench", Establishment: benchFINESS, BaseDir: dir, Logger: slog.New(slog.DiscardHandler)}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		cs, _ := ingest.NewCursorStore(filepath.Join(b.TempDir(), "c"))
		q, _ := ingest.NewQuarantine(filepath.Join(b.TempDir(), "q.jsonl"), nil)
		st, err := ingest.Run(context.Background(), ingest.Job{SourceID: "bench", Establishment: benchFINESS, Source: src, Mapper: m, Publisher: pub, Cursors: cs, Quarantine: q})
		if err != nil {
			b.Fatal(err)
		}
		if st.Rejects != 0 || st.Records != n+20 {
			es, _ := q.List()
			b.Fatalf("records %d rejects %d: %v", st.Records, st.Rejects, es[0].Message)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "inclusions/s")
}

func BenchmarkConnectorPathBaseline(b *testing.B) {
	const n = 20000
	dir := b.TempDir()
	writeExport(b, dir, n)
	pub, stop := startBroker(b)
	defer stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(filepath.Join(dir, "inclusions.csv"))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		batch := make([]stream.Message, 0, 500)
		for sc.Scan() {
			line := append([]byte(nil), sc.Bytes()...)
			batch = append(batch, stream.Message{Topic: "it4ct.bench.raw", Key: string(line[:12]), Value: line})
			if len(batch) == cap(batch) {
				if err := pub.Publish(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			if err := pub.Publish(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "inclusions/s")
}
