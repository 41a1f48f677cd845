//go:build race

package magic

// raceEnabled: the race detector slows compute-heavy cells tenfold.
const raceEnabled = true
