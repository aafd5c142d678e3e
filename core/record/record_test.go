package record_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/wire"
)

var msg = (&wire.Message{MessageID: "m", Lamport: 7, ChannelID: "c", Content: []byte{1, 2}}).Marshal()

func TestRoundTrips(t *testing.T) {
	l, err := record.UnmarshalLog(record.Log{Message: msg}.Marshal())
	require.NoError(t, err)
	require.Equal(t, msg, l.Message)

	o, err := record.UnmarshalOutgoing(record.Outgoing{Message: msg, SendTimeMs: 1_700_000_000_123, ResendAttempts: 4}.Marshal())
	require.NoError(t, err)
	require.Equal(t, record.Outgoing{Message: msg, SendTimeMs: 1_700_000_000_123, ResendAttempts: 4}, o)

	deps := []wire.HistoryEntry{{MessageID: "a", RetrievalHint: []byte{9}, SenderID: "s"}, {MessageID: "b\x00"}}
	in, err := record.UnmarshalIncoming(record.Incoming{Message: msg, MissingDeps: deps}.Marshal())
	require.NoError(t, err)
	require.Equal(t, msg, in.Message)
	require.Equal(t, deps, in.MissingDeps)

	e := wire.HistoryEntry{MessageID: "x", SenderID: "alice"}
	or, err := record.UnmarshalOutgoingRepair(record.OutgoingRepair{Entry: e, MinTimeRepairReqMs: 42}.Marshal())
	require.NoError(t, err)
	require.Equal(t, record.OutgoingRepair{Entry: e, MinTimeRepairReqMs: 42}, or)

	ir, err := record.UnmarshalIncomingRepair(record.IncomingRepair{Entry: e, CachedMessage: msg, MinTimeRepairRespMs: 43}.Marshal())
	require.NoError(t, err)
	require.Equal(t, record.IncomingRepair{Entry: e, CachedMessage: msg, MinTimeRepairRespMs: 43}, ir)
}

func TestOutgoingWithoutMessage(t *testing.T) {
	// The message lives in the log record with the same id: field 1 is absent.
	b := record.Outgoing{SendTimeMs: 7, ResendAttempts: 1, ID: "m"}.Marshal()
	require.Equal(t, []byte{record.Version, byte(record.KindOutgoing), 0x10, 0x07, 0x18, 0x01, 0x22, 0x01, 'm'}, b)
	o, err := record.UnmarshalOutgoing(b)
	require.NoError(t, err)
	require.Equal(t, record.Outgoing{SendTimeMs: 7, ResendAttempts: 1, ID: "m"}, o)
	require.Empty(t, o.Message)
}

func TestHeaderIsVersionAndKind(t *testing.T) {
	b := record.Outgoing{Message: msg, SendTimeMs: 1}.Marshal()
	require.Equal(t, record.Version, b[0])
	require.Equal(t, byte(record.KindOutgoing), b[1])
}

func TestCorruptRecordsAreRefused(t *testing.T) {
	good := record.Log{Message: msg}.Marshal()
	for name, b := range map[string][]byte{
		"empty":         nil,
		"one byte":      {record.Version},
		"newer version": append([]byte{record.Version + 1}, good[1:]...),
		"wrong kind":    record.Outgoing{Message: msg, SendTimeMs: 1}.Marshal(),
		"truncated":     good[:len(good)-1],
		"no message":    {record.Version, byte(record.KindLog)},
	} {
		_, err := record.UnmarshalLog(b)
		require.ErrorIs(t, err, record.ErrCorrupt, name)
	}
	_, err := record.UnmarshalOutgoing([]byte{record.Version, byte(record.KindOutgoing), 0x0a, 0x00})
	require.ErrorIs(t, err, record.ErrCorrupt, "outgoing without a send time")
	bad := record.OutgoingRepair{Entry: wire.HistoryEntry{MessageID: "x"}, MinTimeRepairReqMs: 1}.Marshal()
	bad[4] = 0x12 // the entry's id field becomes a hint: the entry lacks its id
	_, err = record.UnmarshalOutgoingRepair(bad)
	require.ErrorIs(t, err, record.ErrCorrupt)
}

func TestUnknownFieldsAreSkipped(t *testing.T) {
	b := append(record.Log{Message: msg}.Marshal(), 0x48, 0x05) // field 9, varint 5
	l, err := record.UnmarshalLog(b)
	require.NoError(t, err)
	require.Equal(t, msg, l.Message)
}
