using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// The gateway's reading of a client connection's bytes (<see cref="GatewaySenderCheck"/>): messages written as Orleans
/// writes them, arriving whole or a byte at a time. The end-to-end test with a real rewritten client is in TlsTests.
/// </summary>
public sealed class GatewaySenderCheckTests
{
    private readonly SerializerSessionPool _sessions = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<SerializerSessionPool>();

    private static readonly GrainId Client = GrainId.Create("sys.client", "2f1c4e0a9b7d4c31a5e6f8091a2b3c4d");

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(7)]
    public void A_clients_messages_pass_whole_however_the_bytes_arrive(int chunk)
    {
        byte[] stream = [.. Preamble(), .. Message(Client, body: 5000), .. Message(Client, body: 0), .. Message(Client, body: 3)];
        var (passed, refusal) = Feed(stream, chunk);
        Assert.Null(refusal);
        Assert.Equal(stream.Length, passed);
    }

    [Theory]
    [InlineData("grain", int.MaxValue)]
    [InlineData("grain", 1)]
    [InlineData("hosted", int.MaxValue)]
    [InlineData("hosted", 3)]
    [InlineData("nobody", 5)]
    public void A_message_that_names_another_sender_stops_the_connection_before_its_first_byte(string sender, int chunk)
    {
        var forged = sender switch
        {
            "grain" => GrainId.Create("run", "FC-1:r1"),
            "hosted" => GrainId.Create("sys.client", "hosted-S10.0.0.5:11111:123"),
            _ => default,
        };
        byte[] honest = [.. Preamble(), .. Message(Client, body: 100)];
        byte[] stream = [.. honest, .. Message(forged, body: 100), .. Message(Client, body: 100)];
        var (passed, refusal) = Feed(stream, chunk);
        Assert.NotNull(refusal);
        Assert.Contains("as its sender", refusal);
        Assert.Equal(honest.Length, passed);
    }

    [Fact]
    public void Lengths_no_message_can_have_and_an_oversized_preamble_are_refused()
    {
        Assert.Contains("preamble of 5000 bytes", Feed(BitConverter.GetBytes(5000), int.MaxValue).Refusal);
        byte[] negative = [.. Preamble(), .. BitConverter.GetBytes(-1), .. BitConverter.GetBytes(0)];
        Assert.Contains("header length -1", Feed(negative, int.MaxValue).Refusal);
        // A header too short to hold a sender (as a client could declare): refused, not passed unread.
        byte[] tiny = [.. Preamble(), .. BitConverter.GetBytes(6), .. BitConverter.GetBytes(0), 1, 2, 3, 4, 5, 6];
        Assert.Contains("cannot be read", Feed(tiny, int.MaxValue).Refusal);
    }

    /// <summary>Feeds the stream as a pipe would: what was not passed is offered again with the next bytes.</summary>
    private (int Passed, string? Refusal) Feed(byte[] stream, int chunk)
    {
        var frames = new GatewaySenderCheck.SenderFrames(_sessions);
        int passed = 0, received = 0;
        while (received < stream.Length)
        {
            received = (int)Math.Min(stream.Length, (long)received + chunk);
            var (position, refusal) = frames.Inspect(new ReadOnlySequence<byte>(stream, passed, received - passed));
            passed = position.GetInteger();
            if (refusal is not null) return (passed, refusal);
        }
        return (passed, null);
    }

    private static byte[] Preamble()
    {
        byte[] payload = new byte[60];
        Random.Shared.NextBytes(payload);
        return [.. BitConverter.GetBytes(payload.Length), .. payload];
    }

    /// <summary>A message as Orleans frames it: header length, body length, header (flags, id, sender, target, ...), body.</summary>
    private byte[] Message(GrainId sender, int body)
    {
        using var session = _sessions.GetSession();
        var header = new ArrayBufferWriter<byte>();
        var writer = Writer.Create(header, session);
        writer.WriteUInt32(0x1234);
        writer.WriteInt64(Random.Shared.NextInt64());
        IdSpanCodec.WriteRaw(ref writer, sender.Type.Value);
        IdSpanCodec.WriteRaw(ref writer, sender.Key);
        IdSpanCodec.WriteRaw(ref writer, IdSpan.Create("lot"));
        IdSpanCodec.WriteRaw(ref writer, IdSpan.Create("LOT-A"));
        writer.Write(new byte[40]);   // the rest of a header (silos, interface, request context) is not read
        writer.Commit();
        byte[] frame = new byte[8 + header.WrittenCount + body];
        BinaryPrimitives.WriteInt32LittleEndian(frame, header.WrittenCount);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), body);
        header.WrittenSpan.CopyTo(frame.AsSpan(8));
        return frame;
    }
}
