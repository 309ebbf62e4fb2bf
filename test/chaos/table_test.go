package chaos

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"text/tabwriter"
)

// row is one line of the table: a fault and what recovering from it took.
type row struct {
	fault     string
	recovered bool
	seconds   float64
	writes    int
	lost      int
	note      string
}

var (
	tableMu sync.Mutex
	rows    []row
)

func report(r row) {
	tableMu.Lock()
	defer tableMu.Unlock()
	rows = append(rows, r)
}

func printTable(w io.Writer) {
	tableMu.Lock()
	defer tableMu.Unlock()
	if len(rows) == 0 {
		return
	}
	// In the order of faults; each fault's rows as they came.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].fault[0] < rows[j].fault[0] })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\trecovered\tseconds\twrites\titems lost\tnotes")
	for _, r := range rows {
		yes := "no"
		if r.recovered {
			yes = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%d\t%d\t%s\n", r.fault, yes, r.seconds, r.writes, r.lost, r.note)
	}
	_ = tw.Flush()
}
