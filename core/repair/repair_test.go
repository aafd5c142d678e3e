package repair_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/repair"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

const (
	tMin = 30 * time.Second
	tMax = 300 * time.Second
)

func TestGoldenTimingsAndGroups(t *testing.T) {
	g := vectors.LoadGolden(t)
	require.Equal(t, tMin.Milliseconds(), g.TMinMs)
	require.Equal(t, tMax.Milliseconds(), g.TMaxMs)
	for _, v := range g.Repair {
		name := fmt.Sprintf("%s/%s/%s", v.Participant, v.Sender, v.MessageID)
		require.Equal(t, v.TReqMs, repair.TReq(v.Participant, v.MessageID, tMin, tMax).Milliseconds(), name)
		require.Equal(t, v.TRespMs, repair.TResp(v.Participant, v.Sender, v.MessageID, tMax).Milliseconds(), name)
		require.NotEmpty(t, v.InResponseGroup)
		for n, want := range v.InResponseGroup {
			groups, err := strconv.Atoi(n)
			require.NoError(t, err)
			require.Equal(t, want, repair.InResponseGroup(v.Participant, v.Sender, v.MessageID, groups), "%s n=%d", name, groups)
		}
	}
}

func TestProtocolDocVectors(t *testing.T) {
	require.Equal(t, 172988*time.Millisecond, repair.TReq("alice", "msg-1", tMin, tMax))
	require.Equal(t, 27600*time.Millisecond, repair.TResp("bob", "alice", "msg-1", tMax))
	require.Zero(t, repair.TResp("alice", "alice", "msg-1", tMax))
	require.True(t, repair.InResponseGroup("bob", "alice", "msg-1", 4))
}

func TestTReqWithinWindowAndDeterministic(t *testing.T) {
	for i := 0; i < 500; i++ {
		id := fmt.Sprintf("m-%d", i)
		d := repair.TReq("carol", id, tMin, tMax)
		require.GreaterOrEqual(t, d, tMin)
		require.Less(t, d, tMax)
		require.Equal(t, d, repair.TReq("carol", id, tMin, tMax))
	}
	// different participants spread their requests
	require.NotEqual(t, repair.TReq("p1", "m", tMin, tMax), repair.TReq("p2", "m", tMin, tMax))
}

func TestTReqDegenerateRange(t *testing.T) {
	require.Equal(t, tMin, repair.TReq("a", "m", tMin, tMin))
	require.Equal(t, tMin, repair.TReq("a", "m", tMin, tMin-time.Second))
}

func TestTRespBounds(t *testing.T) {
	for i := 0; i < 500; i++ {
		id := fmt.Sprintf("m-%d", i)
		d := repair.TResp("dave", "erin", id, tMax)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.Less(t, d, tMax)
	}
	require.Zero(t, repair.TResp("a", "b", "m", 0))
	require.Zero(t, repair.TResp("a", "b", "m", -time.Second))
}

func TestResponseGroups(t *testing.T) {
	// one group or a non-positive count: everyone answers
	for _, n := range []int{1, 0, -3} {
		require.True(t, repair.InResponseGroup("x", "y", "m", n))
	}
	// the sender is always in its own group
	for n := 2; n < 20; n++ {
		require.True(t, repair.InResponseGroup("s", "s", "m", n))
	}
	// membership spreads roughly evenly over 4 groups
	in := 0
	for i := 0; i < 4000; i++ {
		if repair.InResponseGroup(fmt.Sprintf("p-%d", i), "sender", "msg", 4) {
			in++
		}
	}
	require.InDelta(t, 1000, in, 150)
}
