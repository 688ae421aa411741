#!/bin/sh
# Recomputes the expected indicator tables of README.md from the CSV files
# alone, with iconv and awk: no Go, no generator, no product code. The header
# texts and status words below are copied from the exports, not from the
# connect.yaml files. Exits non-zero when README.md disagrees.
#
#   sh testdata/demo/check.sh          # compare
#   sh testdata/demo/check.sh -print   # just print the recomputed tables
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# to_utf8 ENCODING FILE: decoded, BOM and CR removed.
to_utf8() {
	case $1 in
	windows-1252) iconv -f WINDOWS-1252 -t UTF-8 "$2" ;;
	iso-8859-1) iconv -f ISO-8859-1 -t UTF-8 "$2" ;;
	*) cat "$2" ;;
	esac | sed '1s/^\xEF\xBB\xBF//' | tr -d '\r'
}

# One awk program normalises every layout into
#   S|finess|code|strongest-id|sponsor_finess|opened|closed
#   I|finess|code|date|screen_failed(0/1)
#   R|finess|file|line|reason
# Parameters: kind (S or I), sep, datefmt (dmy/ iso dmy. ymd8), hdr (header
# line), finess, file, the header text of each needed column, and the allowed
# status words (|-separated; sfwords = screen-failure words).
NORM='
function csv(line, f, sep,   n, i, c, q, cur) {
	n = 0; cur = ""; q = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (q) {
			if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ } else q = 0 } else cur = cur c
		} else if (c == "\"") q = 1
		else if (c == sep) { f[++n] = cur; cur = "" }
		else cur = cur c
	}
	f[++n] = cur
	return n
}
function mdays(y, m) {
	if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
	return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31
}
# iso(s): YYYY-MM-DD, "" when empty, "BAD" when not a real date.
function iso(s,   y, m, d) {
	if (s == "") return ""
	if (datefmt == "dmy/" && s ~ /^[0-9][0-9]\/[0-9][0-9]\/[0-9][0-9][0-9][0-9]$/) { d = substr(s, 1, 2); m = substr(s, 4, 2); y = substr(s, 7, 4) }
	else if (datefmt == "dmy." && s ~ /^[0-9][0-9]\.[0-9][0-9]\.[0-9][0-9][0-9][0-9]$/) { d = substr(s, 1, 2); m = substr(s, 4, 2); y = substr(s, 7, 4) }
	else if (datefmt == "iso" && s ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/) { y = substr(s, 1, 4); m = substr(s, 6, 2); d = substr(s, 9, 2) }
	else if (datefmt == "ymd8" && s ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/) { y = substr(s, 1, 4); m = substr(s, 5, 2); d = substr(s, 7, 2) }
	else return "BAD"
	if (m + 0 < 1 || m + 0 > 12 || d + 0 < 1 || d + 0 > mdays(y + 0, m + 0)) return "BAD"
	return y "-" m "-" d
}
function col(name,   i) { for (i = 1; i <= nh; i++) if (h[i] == name) return i; print "no column " name > "/dev/stderr"; exit 2 }
function allowed(w, list,   a, n, i) { n = split(list, a, "|"); for (i = 1; i <= n; i++) if (a[i] == w) return 1; return 0 }
function rej(reason) { print "R|" finess "|" file "|" FNR "|" reason }
kind == "I" && FILENAME == codes { known[$0] = 1; next }
FNR < hdr { next }
FNR == hdr { nh = csv($0, h, sep); next }
{
	n = csv($0, f, sep)
	if (n != nh) { rej("bad-field-count"); next }
	if (kind == "S") {
		if (f[col(H_rcb)] != "" && f[col(H_rcb)] !~ /^20[0-9][0-9]-A[0-9][0-9][0-9][0-9][0-9]-[0-9][0-9]$/) { rej("bad-identifier"); next }
		if (!allowed(f[col(H_status)], statuses)) { rej("unknown-value"); next }
		o = iso(f[col(H_open)]); c = iso(f[col(H_close)])
		if (o == "BAD" || c == "BAD") { rej("bad-date"); next }
		key = f[col(H_euct)]; if (key == "") key = f[col(H_rcb)]; if (key == "") key = f[col(H_nct)]
		print "S|" finess "|" f[col(H_code)] "|" key "|" f[col(H_sfin)] "|" o "|" c
	} else {
		d = iso(f[col(H_date)])
		if (d == "BAD") { rej("bad-date"); next }
		if (!allowed(f[col(H_st)], statuses)) { rej("unknown-value"); next }
		if (!(f[col(H_ref)] in known)) { rej("unknown-study"); next }
		print "I|" finess "|" f[col(H_ref)] "|" d "|" allowed(f[col(H_st)], sfwords)
	}
}'

# studies DIR FILE ENC SEP DATEFMT HDR FINESS code rcb euct nct sponsor_finess opened closed status STATUSES
studies() {
	to_utf8 "$3" "$1/$2" > "$tmp/in"
	awk -v kind=S -v sep="$4" -v datefmt="$5" -v hdr="$6" -v finess="$7" -v file="$1/$2" \
		-v H_code="$8" -v H_rcb="$9" -v H_euct="${10}" -v H_nct="${11}" -v H_sfin="${12}" \
		-v H_open="${13}" -v H_close="${14}" -v H_status="${15}" -v statuses="${16}" "$NORM" "$tmp/in" > "$tmp/$7.S"
	grep '^S|' "$tmp/$7.S" | cut -d'|' -f3 > "$tmp/$7.codes" || true
}

# inclusions DIR FILE ENC SEP DATEFMT HDR FINESS ref date status STATUSES SFWORDS
inclusions() {
	to_utf8 "$3" "$1/$2" > "$tmp/in"
	awk -v kind=I -v sep="$4" -v datefmt="$5" -v hdr="$6" -v finess="$7" -v file="$1/$2" -v codes="$tmp/$7.codes" \
		-v H_ref="$8" -v H_date="$9" -v H_st="${10}" -v statuses="${11}" -v sfwords="${12}" \
		"$NORM" "$tmp/$7.codes" "$tmp/in" > "$tmp/$7.I"
}

E1=450009170 E2=820004083 E3=300012762 E4=480001536

studies chu-val-de-loire-est etudes.csv windows-1252 ';' 'dmy/' 1 $E1 \
	'Code étude' 'N° ID-RCB' 'N° EU CT' 'N° NCT' 'FINESS promoteur' "Date d'ouverture du centre" 'Date de clôture du centre' 'Statut étude' \
	'En attente autorisation|En cours de soumission|Autorisée - non démarrée|En cours|Suspendue|Terminée|Clôturée|Arrêtée prématurément|Inclusions terminées'
inclusions chu-val-de-loire-est inclusions.csv windows-1252 ';' 'dmy/' 1 $E1 \
	'Code étude' "Date d'inclusion" 'Statut patient' 'Inclus|Sorti prématurément|Terminé|Échec de sélection' 'Échec de sélection'

studies chu-garonne-amont export_etudes.csv utf-8 ',' 'iso' 1 $E2 \
	'Réf. locale' 'ID-RCB' 'N° EU CT' 'NCT' 'FINESS du promoteur' "Date d'ouverture du centre" 'Date de fermeture du centre' 'Statut' \
	"En soumission|En attente d'ouverture|Ouverte aux inclusions|Suspendue|Fermée aux inclusions|Terminée|Arrêt anticipé"
inclusions chu-garonne-amont export_patients.csv utf-8 ',' 'iso' 1 $E2 \
	'Réf. locale' "Date d'inclusion" 'Statut' "inclus|sortie d'étude|fin de suivi|screen failure" 'screen failure'

studies institut-aurore-mediterranee essais.csv utf-8 ';' 'dmy/' 1 $E3 \
	'Identifiant essai' 'N° ID-RCB' 'N° EU CT' 'N° NCT' 'FINESS promoteur' "Date d'ouverture" 'Date de clôture' 'Statut' \
	'En instruction réglementaire|Autorisé - mise en place|Actif - recrutement en cours|Suspendu temporairement|Inclusions closes|Clos|Arrêté'
inclusions institut-aurore-mediterranee inclusions_patients.csv utf-8 ';' 'dmy/' 1 $E3 \
	'Identifiant essai' "Date d'inclusion" 'Statut du patient' 'Inclus(e)|Arrêt prématuré|Suivi terminé|Non éligible (échec screening)' 'Non éligible (échec screening)'

studies other-layout studies_export.txt utf-8 '	' 'dmy.' 3 $E4 \
	'Study code' 'RCB number' 'EU CT number' 'ClinicalTrials.gov' 'Sponsor FINESS' 'Site activation' 'Site closure' 'Overall status' \
	'Pending|Approved|Recruiting|On hold|Closed|Stopped'
inclusions other-layout enrolments.tsv iso-8859-1 '	' 'ymd8' 2 $E4 \
	'Study' "Date d'entrée / Enrolment date" 'Subject status' 'Enrolled|Withdrawn|Completed|Screen failure' 'Screen failure'

# tables FINESS...: the two README tables for these establishments.
TABLES='
BEGIN { FS = "|"; ny = split("2022 2023 2024 2025", Y, " ") }
$1 == "S" {
	srows[$2]++; key = $4; site[$2, key] = 1; spf[key] = $5; codekey[$2, $3] = key; keys[key] = 1
	nsite[key]++; o[key, nsite[key]] = $6; c[key, nsite[key]] = $7; est[key, nsite[key]] = $2
	if ($6 != "" && (!(key in first) || $6 < first[key])) first[key] = $6
}
$1 == "I" { irows[$2]++; if (!$5) { y = substr($4, 1, 4); a3[$2, y]++; a4[spf[codekey[$2, $3]], y]++ } }
$1 == "R" { rej[$2]++ }
END {
	print "| finess | year | A1_site | A1_sponsor | A2_site | A2_sponsor | A3 | A4 |"
	print "|---|---|---|---|---|---|---|---|"
	for (ei = 1; ei <= ne; ei++) {
		E = ES[ei]
		for (yi = 1; yi <= ny; yi++) {
			y = Y[yi]; a1s = a1p = a2s = a2p = 0
			for (k in keys) {
				anyopen = 0; mine = 0
				for (i = 1; i <= nsite[k]; i++) {
					open = o[k, i] != "" && o[k, i] <= y "-12-31" && (c[k, i] == "" || c[k, i] >= y "-01-01")
					if (open) { anyopen = 1; if (est[k, i] == E) mine = 1 }
					if (est[k, i] == E && substr(o[k, i], 1, 4) == y) a2s++
				}
				a1s += mine
				if (spf[k] == E) { a1p += anyopen; if (substr(first[k], 1, 4) == y) a2p++ }
			}
			printf "| %s | %s | %d | %d | %d | %d | %d | %d |\n", E, y, a1s, a1p, a2s, a2p, a3[E, y], a4[E, y]
		}
	}
	print ""
	print "| finess | studies_rows | inclusion_rows | expected_rejects |"
	print "|---|---|---|---|"
	for (ei = 1; ei <= ne; ei++) { E = ES[ei]; printf "| %s | %d | %d | %d |\n", E, srows[E], irows[E], rej[E] }
}'
tables() {
	list=$1
	shift
	cat "$@" | awk -v list="$list" "BEGIN { ne = split(list, ES, \" \") } $TABLES"
}

cat "$tmp/$E1.S" "$tmp/$E1.I" "$tmp/$E2.S" "$tmp/$E2.I" "$tmp/$E3.S" "$tmp/$E3.I" > "$tmp/main"
tables "$E1 $E2 $E3" "$tmp/main" > "$tmp/main.md"
cat "$tmp/$E4.S" "$tmp/$E4.I" > "$tmp/other"
tables "$E4" "$tmp/other" > "$tmp/other.md"
grep -h '^R|' "$tmp/main" | awk -F'|' '{ printf "| %s | %s | %s | `%s` |\n", $2, $3, $4, $5 }' > "$tmp/rejects.md"

if [ "${1:-}" = -print ]; then
	cat "$tmp/main.md"; echo; cat "$tmp/rejects.md"; echo; cat "$tmp/other.md"
	exit 0
fi
status=0
# readme_rows README BLOCK: the data rows of a generated block.
readme_rows() { sed -n "/BEGIN generated:$2 /,/END generated:$2 /p" "$1" | grep '^| [0-9]' || true; }
for pair in "README.md main" "other-layout/README.md other"; do
	set -- $pair
	grep '^| [0-9]' "$tmp/$2.md" > "$tmp/got"
	{ readme_rows "$1" expected; readme_rows "$1" totals; } > "$tmp/want"
	if ! diff "$tmp/want" "$tmp/got" > "$tmp/diff"; then
		echo "check: $1 disagrees with the CSV files (< README, > recomputed):"; cat "$tmp/diff"; status=1
	fi
done
readme_rows README.md broken | awk -F'|' '{ printf "|%s|%s|%s|%s|\n", $2, $3, $4, $5 }' > "$tmp/want"
if ! diff "$tmp/want" "$tmp/rejects.md" > "$tmp/diff"; then
	echo "check: broken-row list of README.md disagrees with the CSV files:"; cat "$tmp/diff"; status=1
fi
[ $status -eq 0 ] && echo "check: README.md tables match the CSV files"
exit $status
