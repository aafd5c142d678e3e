package nimhash_test

import (
	"encoding/hex"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/nimhash"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

func TestStringHashMatchesNim(t *testing.T) {
	for _, v := range vectors.LoadGolden(t).StringHash {
		b, err := hex.DecodeString(v.Hex)
		require.NoError(t, err)
		want, err := strconv.ParseInt(v.Hash, 10, 64)
		require.NoError(t, err)
		require.Equal(t, want, nimhash.Bytes(b), "len %d", len(b))
		require.Equal(t, want, nimhash.String(string(b)), "len %d", len(b))
	}
}

func TestNimStdlibVectors(t *testing.T) {
	require.Equal(t, int64(-7286425919675154353), nimhash.String(""))
	require.Equal(t, int64(-1119910118870047694), nimhash.String("abracadabra"))
}

func TestConcatEqualsHashOfJoinedBytes(t *testing.T) {
	long := string(make([]byte, 300))
	for _, c := range [][2]string{{"", ""}, {"bob", "msg-1"}, {"alice", ""}, {long, "x"}, {"x", long}} {
		require.Equal(t, nimhash.String(c[0]+c[1]), nimhash.Concat(c[0], c[1]))
	}
	require.Equal(t, nimhash.String("bobmsg-1"), nimhash.Concat("bob", "msg-1"))
}

func TestAbs(t *testing.T) {
	require.Equal(t, int64(math.MaxInt64), nimhash.Abs(math.MinInt64))
	require.Equal(t, int64(5), nimhash.Abs(-5))
	require.Equal(t, int64(5), nimhash.Abs(5))
	require.Equal(t, int64(0), nimhash.Abs(0))
}
