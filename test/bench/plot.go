package main

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// picture is what the SVG shows of one size: APIs converged over time by the operator
// and by the floor, and the other client's latency during the operator's run beside its
// idle p99.
type picture struct {
	n                 int
	operator, floor   []sample
	reads, writes     []sample
	idleRead, idleWrt latency
	// own is the operator's run in the chart's priority level (flowControl), and the other
	// client's latency during it; empty when not run.
	own                 []sample
	ownReads, ownWrites []sample
}

var (
	blue   = color.RGBA{B: 200, A: 255}
	grey   = color.RGBA{R: 128, G: 128, B: 128, A: 255}
	orange = color.RGBA{R: 230, G: 120, A: 255}
	green  = color.RGBA{G: 150, A: 255}
)

// svg draws the picture: convergence on top, the other client's latency below, one panel
// per operator run.
func (pic picture) svg() ([]byte, error) {
	top := plot.New()
	top.Title.Text = fmt.Sprintf("%d ExposedAPIs converged: the operator and the floor", pic.n)
	top.X.Label.Text, top.Y.Label.Text = "seconds", "APIs converged"
	top.Legend.Top, top.Legend.Left = true, true
	if err := addLines(top, []named{{"operator (defaults)", pic.operator, blue, false},
		{"operator in its own priority level (chart flowControl)", pic.own, blue, true},
		{"floor (plain client, 2 writes per API)", pic.floor, grey, false}}); err != nil {
		return nil, err
	}
	plots := [][]*plot.Plot{{top}}
	bottom, err := pic.latencyPlot("another client's requests during the operator's run (same priority level)", pic.reads, pic.writes, last(pic.operator))
	if err != nil {
		return nil, err
	}
	plots = append(plots, []*plot.Plot{bottom})
	if len(pic.own) > 0 {
		own, err := pic.latencyPlot("the same while the operator runs in its own priority level", pic.ownReads, pic.ownWrites, last(pic.own))
		if err != nil {
			return nil, err
		}
		plots = append(plots, []*plot.Plot{own})
	}
	canvas := vgsvg.New(9*vg.Inch, vg.Length(4*len(plots))*vg.Inch)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3,
		PadRight: vg.Millimeter * 3, PadY: vg.Millimeter * 8}
	for i, row := range plot.Align(plots, tiles, draw.New(canvas)) {
		plots[i][0].Draw(row[0])
	}
	var b bytes.Buffer
	_, err = canvas.WriteTo(&b)
	return b.Bytes(), err
}

// latencyPlot is the other client's latency during a run, against its idle p99.
func (pic picture) latencyPlot(title string, reads, writes []sample, runEnd float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "seconds", "latency (ms)"
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{}
	p.Legend.Top = true
	if err := addPoints(p, []named{{"GET namespace", reads, green, false}, {"create/delete ConfigMap", writes, orange, false}}); err != nil {
		return nil, err
	}
	end := max(runEnd, last(reads))
	return p, addLines(p, []named{
		{"GET p99, idle plane", flat(pic.idleRead.p99, end), green, true},
		{"write p99, idle plane", flat(pic.idleWrt.p99, end), orange, true},
	})
}

type named struct {
	name    string
	samples []sample
	color   color.Color
	dashed  bool
}

func xys(s []sample) plotter.XYs {
	out := make(plotter.XYs, len(s))
	for i, x := range s {
		out[i].X, out[i].Y = x.at.Seconds(), x.value
	}
	return out
}

func addLines(p *plot.Plot, lines []named) error {
	for _, l := range lines {
		if len(l.samples) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys(l.samples))
		if err != nil {
			return err
		}
		line.Color, line.Width = l.color, vg.Points(1.5)
		if l.dashed {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(l.name, line)
	}
	return nil
}

func addPoints(p *plot.Plot, sets []named) error {
	for _, s := range sets {
		if len(s.samples) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys(s.samples))
		if err != nil {
			return err
		}
		sc.Color, sc.Radius = s.color, vg.Points(1.5)
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	return nil
}

func last(s []sample) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].at.Seconds()
}

// flat is a horizontal line at d, in milliseconds, from 0 to end seconds.
func flat(d time.Duration, end float64) []sample {
	ms := float64(d) / float64(time.Millisecond)
	return []sample{{at: 0, value: ms}, {at: time.Duration(end * float64(time.Second)), value: ms}}
}

func writeSVG(path string, pic picture) error {
	raw, err := pic.svg()
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}
