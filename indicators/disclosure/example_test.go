package disclosure_test

import (
	"encoding/csv"
	"fmt"
	"os"

	"github.com/fr-it4ct/it4ct/indicators/disclosure"
)

// Inclusions per establishment and year, published as open data. The 5 is
// masked as "<11"; three more cells are hidden ("x") so that the totals do
// not give it back: the 5 could be anything from 1 to 6.
func ExampleSuppress() {
	inclusions := disclosure.Table{
		RowKeys: []string{"310000001", "330000002", "690000003"},
		ColKeys: []string{"2023", "2024"},
		Cells: [][]int64{
			{5, 40},
			{30, 25},
			{12, 60},
		},
	}
	p, err := disclosure.Suppress(inclusions, disclosure.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	w := csv.NewWriter(os.Stdout)
	if err := w.WriteAll(p.Grid()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ,2023,2024,Total
	// 310000001,<11,x,45
	// 330000002,30,25,55
	// 690000003,x,x,72
	// Total,47,125,172
}

func ExampleMaskIndicator() {
	fmt.Println(disclosure.MaskIndicator(42.5, 30, disclosure.Options{}))
	fmt.Println(disclosure.MaskIndicator(42.5, 7, disclosure.Options{}))
	// Output:
	// 42.5
	// <11
}
