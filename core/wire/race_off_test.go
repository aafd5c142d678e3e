//go:build !race

package wire

// raceEnabled: allocation counts are not meaningful under the race detector.
const raceEnabled = false
