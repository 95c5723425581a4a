using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// The gateway port's promise that a message from a client connection names a client as its sender: never a grain, and
/// never a silo's own in-process client ("hosted-"). <see cref="ClientCallAuthorization"/> tells a client's call from a
/// silo's by that sender, so this is what makes the connection, not the caller, decide it.
/// </summary>
/// <remarks>
/// Why here, at the bytes: Orleans' gateway forwards what a client sends with the sender the client wrote into the
/// message header, and checks it against nothing; the silo that runs the call sees the gateway as the sending silo and
/// the client's own word for the sending grain. A rewritten client could so present a call as a grain's or as the
/// gateway's HTTP handlers' and pass the token check. No Orleans hook sees a client's message together with the connection
/// it came on, except the connection's middleware. So this middleware reads each message's sender on the gateway
/// connection (after TLS) before the message's bytes reach Orleans, and hangs up on the first that names anything but a
/// client. It reads only the start of each header: the framing (two lengths, then header and body) and the header's first
/// fields (flags, message id, sending grain) are Orleans' wire format, the same since Orleans 7 because mixed-version
/// clusters depend on it; <c>GatewaySenderCheckTests</c> holds it to the Orleans version the build references.
/// </remarks>
internal static class GatewaySenderCheck
{
    /// <summary>A connection preamble is at most this long (Orleans' ConnectionPreambleHelper.MaxPreambleLength).</summary>
    private const int MaxPreambleLength = 1024;

    /// <summary>
    /// How much of a header may be held to find its sender. A client's id is short ("sys.client" and a Guid, or an observer's
    /// id beside it); the rest of a header (the request context, with the token) is passed on without being held.
    /// </summary>
    private const int MaxSenderBytes = 1024;

    private static readonly byte[] HostedClientKeyPrefix = Encoding.UTF8.GetBytes("hosted-");

    /// <summary>Adds the check to a gateway connection; call it after TLS, so it reads the plain messages.</summary>
    public static IConnectionBuilder UseGatewaySenderCheck(this IConnectionBuilder connection)
    {
        var sessions = connection.ApplicationServices.GetRequiredService<SerializerSessionPool>();
        var logger = connection.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("ParticleGrid.Gateway");
        return connection.Use(next => context => RunAsync(next, context, sessions, logger));
    }

    private static async Task RunAsync(ConnectionDelegate next, ConnectionContext connection, SerializerSessionPool sessions, ILogger logger)
    {
        var client = connection.Transport;
        // Orleans reads from this pipe; only bytes of messages whose sender was read and found a client's are written to it.
        var checkedInput = new Pipe();
        var pump = PumpAsync(client.Input, checkedInput.Writer, connection, sessions, logger);
        connection.Transport = new DuplexPipe(checkedInput.Reader, client.Output);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = client;
            await checkedInput.Reader.CompleteAsync();
            // Orleans is done with the connection; a pump still waiting for the client's next bytes stops now.
            client.Input.CancelPendingRead();
            await pump;
        }
    }

    private static async Task PumpAsync(PipeReader client, PipeWriter orleans, ConnectionContext connection, SerializerSessionPool sessions, ILogger logger)
    {
        var frames = new SenderFrames(sessions);
        Exception? failure = null;
        try
        {
            while (true)
            {
                var read = await client.ReadAsync();
                var buffer = read.Buffer;
                var (passed, refusal) = frames.Inspect(buffer);
                foreach (var segment in buffer.Slice(0, passed)) orleans.Write(segment.Span);
                client.AdvanceTo(passed, buffer.End);
                if (refusal is not null)
                {
                    logger.LogWarning("Hung up on Orleans client connection {Connection} from {Remote}: {Refusal}",
                        connection.ConnectionId, connection.RemoteEndPoint, refusal);
                    failure = new ConnectionAbortedException($"gateway: {refusal}");
                    connection.Abort((ConnectionAbortedException)failure);
                    break;
                }
                var flushed = await orleans.FlushAsync();
                if (flushed.IsCompleted || flushed.IsCanceled || read.IsCompleted || read.IsCanceled) break;
            }
        }
        catch (Exception e)
        {
            // The connection closed or broke under the read: Orleans sees the same end on its side of the pipe.
            failure = e;
        }
        await orleans.CompleteAsync(failure);
        await client.CompleteAsync();
    }

    /// <summary>
    /// Where a connection's byte stream is: in its preamble (a length, then that many bytes), at a message's framing (two
    /// lengths), or inside a message whose sender was checked (its remaining bytes pass unread).
    /// </summary>
    internal sealed class SenderFrames(SerializerSessionPool sessions)
    {
        private bool _preambleDone;
        private long _unreadPassing;

        /// <summary>Checks what can be checked of <paramref name="buffer"/> (which starts where the last call stopped).</summary>
        /// <returns>How far the bytes may pass on, and why the connection is refused (null: it is not).</returns>
        public (SequencePosition Passed, string? Refusal) Inspect(ReadOnlySequence<byte> buffer)
        {
            var rest = buffer;
            while (true)
            {
                if (_unreadPassing > 0)
                {
                    long take = Math.Min(_unreadPassing, rest.Length);
                    _unreadPassing -= take;
                    rest = rest.Slice(take);
                    if (_unreadPassing > 0) return (rest.Start, null);
                }
                if (rest.Length == 0) return (rest.Start, null);

                if (!_preambleDone)
                {
                    if (rest.Length < 4) return (rest.Start, null);
                    int length = ReadInt32(rest);
                    if (length is <= 0 or > MaxPreambleLength) return (rest.Start, $"a connection preamble of {length} bytes");
                    _preambleDone = true;
                    _unreadPassing = 4L + length;
                    continue;
                }

                if (rest.Length < 8) return (rest.Start, null);
                int headerLength = ReadInt32(rest), bodyLength = ReadInt32(rest.Slice(4));
                // Orleans refuses such lengths too; refused here, no count below can go wrong.
                if (headerLength <= 0 || bodyLength < 0) return (rest.Start, $"a message with header length {headerLength} and body length {bodyLength}");
                int needed = Math.Min(headerLength, MaxSenderBytes);
                if (rest.Length < 8 + needed) return (rest.Start, null);

                if (ReadSender(rest.Slice(8, needed), sessions) is { } refusal) return (rest.Start, refusal);
                _unreadPassing = 8L + headerLength + bodyLength;
            }
        }

        private static int ReadInt32(ReadOnlySequence<byte> bytes)
        {
            Span<byte> four = stackalloc byte[4];
            bytes.Slice(0, 4).CopyTo(four);
            return BinaryPrimitives.ReadInt32LittleEndian(four);
        }

        /// <summary>Reads the header's sender (after its flags and message id) and says why it is refused (null: a client).</summary>
        private static string? ReadSender(ReadOnlySequence<byte> header, SerializerSessionPool sessions)
        {
            using var session = sessions.GetSession();
            try
            {
                // Read where the bytes lie: this runs for every message a client sends, so no copy of the header.
                var reader = Reader.Create(header, session);
                reader.ReadUInt32();   // the packed flags
                reader.ReadInt64();    // the message id
                var type = ReadIdSpan(ref reader);
                var key = ReadIdSpan(ref reader);
                var sender = new GrainId(new GrainType(type), key);
                if (!sender.IsClient()) return $"a message that names {(sender.IsDefault ? "no sender" : $"'{sender}'")} as its sender: a client may send only as itself";
                if (key.AsSpan().StartsWith(HostedClientKeyPrefix)) return $"a message that names a silo's own client '{sender}' as its sender";
                return null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return $"a message whose sender cannot be read in its first {header.Length} header bytes ({e.GetType().Name})";
            }
        }

        /// <summary>An id span as Orleans writes it in a header: a length (Orleans' variable-length integer), then a hash and the bytes.</summary>
        private static IdSpan ReadIdSpan(ref Reader<ReadOnlySequenceInput> reader)
        {
            uint length = reader.ReadVarUInt32();
            if (length == 0) return default;
            if (length > MaxSenderBytes) throw new InvalidDataException($"an id of {length} bytes");
            reader.ReadInt32();    // its hash, which the IdSpan computes again from the bytes
            return new IdSpan(reader.ReadBytes(length));
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
