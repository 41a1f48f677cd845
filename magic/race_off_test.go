//go:build !race

package magic

const raceEnabled = false
